import { asc, inArray } from 'drizzle-orm';
import { describeLookup, type VendorName } from '../enrichers/types.js';
import { storedLookup } from './enrichments.js';
import type { StoreDb } from './open.js';
import { enrichments, iocs, scores, sightings } from './schema.js';

/**
 * The columns that describe a scored IOC to the outside (a sink's batch, an export): the IOC row joined with
 * one version of its score.
 */
export const scoredIocColumns = {
  key: iocs.key,
  type: iocs.type,
  value: iocs.value,
  firstSeen: iocs.firstSeen,
  lastSeen: iocs.lastSeen,
  score: scores.score,
  severity: scores.severity,
  confidence: scores.confidence,
  expiresAt: scores.expiresAt,
  explanation: scores.explanation,
  scoredAt: scores.computedAt,
};

/** Where a set of IOCs came from: sources, sorted tags and source references, per IOC row id. */
export interface Provenance {
  sources: string[];
  tags: string[];
  refs: { source: string; ref: string }[];
}

const NONE: Provenance = { sources: [], tags: [], refs: [] };

/** Sources, tags and references of many IOCs in one query (one page of a listing or an outbox batch). */
export function provenanceOf(db: StoreDb, iocIds: readonly number[]): (iocId: number) => Provenance {
  const collected = new Map<
    number,
    { sources: Set<string>; tags: Set<string>; refs: { source: string; ref: string }[] }
  >();
  if (iocIds.length > 0) {
    const rows = db
      .select({
        iocId: sightings.iocId,
        source: sightings.source,
        sourceRef: sightings.sourceRef,
        tags: sightings.tags,
      })
      .from(sightings)
      .where(inArray(sightings.iocId, [...new Set(iocIds)]))
      .all();
    for (const s of rows) {
      const p = collected.get(s.iocId) ?? { sources: new Set<string>(), tags: new Set<string>(), refs: [] };
      p.sources.add(s.source);
      if (s.sourceRef) p.refs.push({ source: s.source, ref: s.sourceRef });
      for (const t of JSON.parse(s.tags) as string[]) p.tags.add(t);
      collected.set(s.iocId, p);
    }
  }
  const result = new Map<number, Provenance>();
  for (const [id, p] of collected) {
    result.set(id, {
      sources: [...p.sources].sort(),
      tags: [...p.tags].sort(),
      refs: p.refs.sort((a, b) => a.source.localeCompare(b.source) || a.ref.localeCompare(b.ref)),
    });
  }
  return (iocId) => result.get(iocId) ?? NONE;
}

/** What each vendor said about many IOCs, one line per vendor in vendor order, per IOC row id. */
export function evidenceOf(db: StoreDb, iocIds: readonly number[]): (iocId: number) => string[] {
  const evidence = new Map<number, string[]>();
  if (iocIds.length > 0) {
    const rows = db
      .select({
        iocId: enrichments.iocId,
        vendor: enrichments.vendor,
        outcome: enrichments.outcome,
        verdict: enrichments.verdict,
      })
      .from(enrichments)
      .where(inArray(enrichments.iocId, [...new Set(iocIds)]))
      .orderBy(asc(enrichments.vendor))
      .all();
    for (const e of rows) {
      const lookup = storedLookup(e.outcome, e.verdict);
      if (!lookup) continue;
      evidence.set(e.iocId, [
        ...(evidence.get(e.iocId) ?? []),
        describeLookup(e.vendor as VendorName, lookup),
      ]);
    }
  }
  return (iocId) => evidence.get(iocId) ?? [];
}
