import { and, asc, desc, eq, gt, gte, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Contribution } from '../scoring/index.js';
import type { StoreDb } from './open.js';
import { evidenceOf, provenanceOf, scoredIocColumns } from './provenance.js';
import { iocs, scores, sightings } from './schema.js';

// Read-only listings of the store for the command line: `iocflow search` and `iocflow export`. Every
// filter is a bound parameter; nothing the user types is spliced into SQL text.

export interface IocFilter {
  type?: string | undefined;
  minScore?: number | undefined;
  maxScore?: number | undefined;
  /** A source name as in the config: the IOC has at least one sighting from it. */
  source?: string | undefined;
  /** A tag any source gave the IOC, compared without regard to case. */
  tag?: string | undefined;
  /** @default 50 */
  limit?: number | undefined;
}

export interface IocMatch {
  key: string;
  type: string;
  value: string;
  status: string;
  /** The latest score; null while the IOC was never scored. */
  score: number | null;
  severity: string | null;
  sources: string[];
  tags: string[];
  firstSeen: number;
  lastSeen: number;
}

function filterConditions(filter: IocFilter): SQL[] {
  const conditions: SQL[] = [];
  if (filter.type !== undefined) conditions.push(eq(iocs.type, filter.type));
  if (filter.minScore !== undefined) conditions.push(gte(iocs.score, filter.minScore));
  if (filter.maxScore !== undefined) conditions.push(lte(iocs.score, filter.maxScore));
  if (filter.source !== undefined) {
    conditions.push(
      sql`exists (select 1 from ${sightings} where ${sightings.iocId} = ${iocs.id} and ${sightings.source} = ${filter.source})`,
    );
  }
  if (filter.tag !== undefined) {
    conditions.push(
      sql`exists (select 1 from ${sightings}, json_each(${sightings.tags}) as t where ${sightings.iocId} = ${iocs.id} and lower(t.value) = lower(${filter.tag}))`,
    );
  }
  return conditions;
}

/** IOCs matching every filter, highest score first, then most recently seen. */
export function searchIocs(db: StoreDb, filter: IocFilter): IocMatch[] {
  const rows = db
    .select({
      id: iocs.id,
      key: iocs.key,
      type: iocs.type,
      value: iocs.value,
      status: iocs.status,
      score: iocs.score,
      severity: iocs.severity,
      firstSeen: iocs.firstSeen,
      lastSeen: iocs.lastSeen,
    })
    .from(iocs)
    .where(and(...filterConditions(filter)))
    .orderBy(sql`${iocs.score} is null`, desc(iocs.score), desc(iocs.lastSeen), asc(iocs.id))
    .limit(filter.limit ?? 50)
    .all();
  const provenance = provenanceOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map(({ id, ...r }) => {
    const { sources, tags } = provenance(id);
    return { ...r, sources, tags };
  });
}

/** One IOC of the high-confidence set, with what an export or a STIX indicator needs. */
export interface ExportedIoc {
  key: string;
  type: string;
  value: string;
  score: number;
  severity: string;
  confidence: number;
  /** Epoch ms: when the IOC's lifetime ends unless seen again; null when the model gives it none. */
  expiresAt: number | null;
  explanation: Contribution[];
  /** Epoch ms when the latest score was computed. */
  scoredAt: number;
  sources: string[];
  tags: string[];
  evidence: string[];
  firstSeen: number;
  lastSeen: number;
}

/**
 * The high-confidence set at `now`: scored (never allowlisted) IOCs whose latest score reaches
 * `minScore` and whose lifetime has not ended. Decay records an expired IOC as score 0 and a drop below a
 * sink's threshold as a lower score (that is what withdraws it), so the latest score already excludes
 * both once a cycle has aged them; the expiry check also drops IOCs that expired since the last cycle.
 * Read in pages of `pageSize` by row id, so a listing of any size holds one page in memory.
 */
export function* highConfidenceIocs(
  db: StoreDb,
  options: { minScore: number; now: number; pageSize?: number },
): Generator<ExportedIoc> {
  const pageSize = options.pageSize ?? 1000;
  let afterId = 0;
  for (;;) {
    const rows = db
      .select({
        id: iocs.id,
        ...scoredIocColumns,
      })
      .from(iocs)
      .innerJoin(scores, and(eq(scores.iocId, iocs.id), eq(scores.version, iocs.scoreVersion)))
      .where(
        and(
          gt(iocs.id, afterId),
          eq(iocs.status, 'scored'),
          gte(iocs.score, options.minScore),
          or(isNull(scores.expiresAt), gt(scores.expiresAt, options.now)),
        ),
      )
      .orderBy(asc(iocs.id))
      .limit(pageSize)
      .all();
    if (rows.length === 0) return;
    const ids = rows.map((r) => r.id);
    const provenance = provenanceOf(db, ids);
    const evidence = evidenceOf(db, ids);
    for (const { id, explanation, ...r } of rows) {
      const { sources, tags } = provenance(id);
      yield {
        ...r,
        explanation: JSON.parse(explanation) as Contribution[],
        sources,
        tags,
        evidence: evidence(id),
      };
    }
    afterId = rows.at(-1)!.id;
  }
}
