import type { StoreDb } from './open.js';
import { preparedPerConnection } from './prepared.js';

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
  /** When the source last saw it (epoch ms): the pull's time, or the feed's own last-seen date. */
  seenAt: number;
  /** When the source first saw it, where the feed says; `seenAt` when unset. */
  firstSeenAt?: number | undefined;
}

export interface RecordResult {
  /** IOCs this batch stored for the first time. */
  newIocs: number;
  /** Distinct IOCs in the batch. */
  iocs: number;
}

/**
 * The hot path of every cycle runs as prepared statements on the connection (one row each, in one
 * transaction per batch): several times faster than building multi-row queries, which dominated collect.
 * The tables and their migrations are still Drizzle's (schema.ts); these statements name the same columns.
 */
const statements = preparedPerConnection(({ $client: client }) => ({
  findIoc: client.prepare('select id from iocs where key = ?').pluck(),
  insertIoc: client
    .prepare(
      `insert into iocs (key, type, value, first_seen, last_seen, status, allowlist)
       values (@key, @type, @value, @firstSeenAt, @seenAt, @status, @allowlist) returning id`,
    )
    .pluck(),
  // Allowlists change: the latest verdict wins, and an IOC that left a list is scored afresh. A sighting
  // resets the IOC's age, which the decay step must look at only if that could raise its score enough.
  refreshIoc: client.prepare(
    `update iocs set last_seen = max(last_seen, @seenAt), first_seen = min(first_seen, @firstSeenAt),
       allowlist = @allowlist,
       decay_due_at = case when decay_on_sighting and @seenAt > last_seen then 0 else decay_due_at end,
       status = case when @allowlist is not null then 'allowlisted'
                     when status = 'allowlisted' then 'new' else status end
     where id = @id`,
  ),
  upsertSighting: client.prepare(
    `insert into sightings (ioc_id, source, source_ref, tags, confidence, first_seen, last_seen, cycle_id)
     values (@iocId, @source, @sourceRef, @tags, @confidence, @firstSeenAt, @seenAt, @cycleId)
     on conflict (ioc_id, source, source_ref) do update set
       first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
       tags = excluded.tags,
       confidence = excluded.confidence, cycle_id = excluded.cycle_id`,
  ),
}));

/**
 * Writes a batch of sightings: one IOC row per canonical key (created or refreshed) and one sighting row
 * per (IOC, source, reference). One transaction, so a killed process leaves the batch all or nothing.
 */
export function recordSightings(db: StoreDb, batch: readonly Sighting[], cycleId: string): RecordResult {
  const entries = [...mergeDuplicates(batch).values()];
  const sql = statements(db);
  let newIocs = 0;
  const ids = new Map<string, number>();
  db.$client.transaction(() => {
    for (const s of entries) {
      const allowlist = s.allowlist ?? null;
      let id = ids.get(s.key) ?? (sql.findIoc.get(s.key) as number | undefined);
      if (id === undefined) {
        id = sql.insertIoc.get({
          key: s.key,
          type: s.type,
          value: s.value,
          seenAt: s.seenAt,
          firstSeenAt: s.firstSeenAt ?? s.seenAt,
          status: allowlist ? 'allowlisted' : 'new',
          allowlist,
        }) as number;
        newIocs++;
      } else {
        // Also for a key met earlier in this batch: its sightings may carry different dates.
        sql.refreshIoc.run({ id, seenAt: s.seenAt, firstSeenAt: s.firstSeenAt ?? s.seenAt, allowlist });
      }
      ids.set(s.key, id);
      sql.upsertSighting.run({
        iocId: id,
        source: s.source,
        sourceRef: s.sourceRef ?? '',
        tags: JSON.stringify(s.tags),
        confidence: s.confidence ?? null,
        seenAt: s.seenAt,
        firstSeenAt: s.firstSeenAt ?? s.seenAt,
        cycleId,
      });
    }
  })();
  return { newIocs, iocs: ids.size };
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
      firstSeenAt: Math.min(prior.firstSeenAt ?? prior.seenAt, s.firstSeenAt ?? s.seenAt),
    });
  }
  return merged;
}
