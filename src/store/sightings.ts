import { inArray, sql } from 'drizzle-orm';
import type { StoreDb } from './open.js';
import { iocs, sightings } from './schema.js';

/** One normalised indicator as a source saw it. */
export interface Sighting {
  key: string;
  type: string;
  value: string;
  /** Name of the allowlist that matched, if any. */
  allowlist?: string | undefined;
  source: string;
  sourceRef?: string | undefined;
  tags: string[];
  confidence?: number | undefined;
  seenAt: number;
}

export interface RecordResult {
  /** IOCs this batch stored for the first time. */
  newIocs: number;
  /** Distinct IOCs in the batch. */
  iocs: number;
}

/** Chunk size for multi-row statements: well under SQLite's variable limit. */
const CHUNK = 400;

/**
 * Writes a batch of sightings: one IOC row per canonical key (created or refreshed) and one sighting row
 * per (IOC, source, reference). One transaction, so a killed process leaves the batch all or nothing.
 */
export function recordSightings(db: StoreDb, batch: readonly Sighting[], cycleId: string): RecordResult {
  const entries = [...mergeDuplicates(batch).values()];
  let newIocs = 0;
  db.transaction((tx) => {
    for (let i = 0; i < entries.length; i += CHUNK) {
      const chunk = entries.slice(i, i + CHUNK);
      const keys = [...new Set(chunk.map((s) => s.key))];
      const known = new Set(
        tx
          .select({ key: iocs.key })
          .from(iocs)
          .where(inArray(iocs.key, keys))
          .all()
          .map((r) => r.key),
      );
      newIocs += keys.filter((k) => !known.has(k)).length;
      const ids = new Map(
        tx
          .insert(iocs)
          .values(
            chunk.map((s) => ({
              key: s.key,
              type: s.type,
              value: s.value,
              firstSeen: s.seenAt,
              lastSeen: s.seenAt,
              allowlist: s.allowlist ?? null,
              status: s.allowlist ? ('allowlisted' as const) : ('new' as const),
            })),
          )
          .onConflictDoUpdate({
            target: iocs.key,
            set: {
              lastSeen: sql`max(${iocs.lastSeen}, excluded.last_seen)`,
              // Allowlists change: the latest verdict wins, and an IOC that left a list is scored afresh.
              allowlist: sql`excluded.allowlist`,
              status: sql`case
                when excluded.allowlist is not null then 'allowlisted'
                when ${iocs.status} = 'allowlisted' then 'new'
                else ${iocs.status} end`,
            },
          })
          .returning({ id: iocs.id, key: iocs.key })
          .all()
          .map((r) => [r.key, r.id] as const),
      );
      tx.insert(sightings)
        .values(
          chunk.map((s) => ({
            iocId: ids.get(s.key)!,
            source: s.source,
            sourceRef: s.sourceRef ?? '',
            tags: JSON.stringify(s.tags),
            confidence: s.confidence ?? null,
            firstSeen: s.seenAt,
            lastSeen: s.seenAt,
            cycleId,
          })),
        )
        .onConflictDoUpdate({
          target: [sightings.iocId, sightings.source, sightings.sourceRef],
          set: {
            lastSeen: sql`max(${sightings.lastSeen}, excluded.last_seen)`,
            tags: sql`excluded.tags`,
            confidence: sql`excluded.confidence`,
            cycleId: sql`excluded.cycle_id`,
          },
        })
        .run();
    }
  });
  return { newIocs, iocs: new Set(batch.map((s) => s.key)).size };
}

/** A feed may list the same indicator twice: one sighting per (key, source, reference), tags merged. */
function mergeDuplicates(batch: readonly Sighting[]): Map<string, Sighting> {
  const merged = new Map<string, Sighting>();
  for (const s of batch) {
    const id = `${s.key}\u0000${s.source}\u0000${s.sourceRef ?? ''}`;
    const prior = merged.get(id);
    if (!prior) {
      merged.set(id, s);
      continue;
    }
    merged.set(id, {
      ...prior,
      tags: [...new Set([...prior.tags, ...s.tags])],
      confidence:
        prior.confidence === undefined ? s.confidence : Math.max(prior.confidence, s.confidence ?? 0),
      seenAt: Math.max(prior.seenAt, s.seenAt),
    });
  }
  return merged;
}
