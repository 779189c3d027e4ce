import { and, asc, eq, gt, isNull, lte, or, sql } from 'drizzle-orm';
import type { StoreDb } from './open.js';
import { placeholders, preparedPerConnection } from './prepared.js';
import { cycleWork, iocs } from './schema.js';

/** Every scoring sets when its IOC is next due. */
const statements = preparedPerConnection((db) => {
  const decay = placeholders('decayDueAt', 'decayOnSighting');
  const thisIoc = eq(iocs.id, sql.placeholder('iocId'));
  return {
    setDecayDue: db.update(iocs).set(decay).where(thisIoc).prepare(),
    setAllDueTimes: db
      .update(iocs)
      .set({ ...decay, ...placeholders('enrichmentDueAt') })
      .where(thisIoc)
      .prepare(),
  };
});

/**
 * Writes the cycle's enrichment work list: IOCs never scored, IOCs an analyst asked to re-enrich, and
 * IOCs whose vendor answers went stale (or were missing) that a source still reports in this cycle;
 * the most corroborated first, so a short vendor budget goes to them. Idempotent: a retried plan
 * rewrites the same list.
 * @returns how many IOCs were planned
 */
export function planWork(db: StoreDb, cycleId: string, now: number): number {
  return db.transaction((tx) => {
    tx.delete(cycleWork).where(eq(cycleWork.cycleId, cycleId)).run();
    const result = tx.run(sql`
      insert into cycle_work (cycle_id, seq, ioc_id)
      select ${cycleId}, row_number() over (order by sources desc, best_confidence desc, id), id
      from (
        select i.id,
               count(distinct s.source) as sources,
               max(coalesce(s.confidence, 0)) as best_confidence
        from iocs i join sightings s on s.ioc_id = i.id
        where i.status != 'allowlisted' and (
          i.status = 'new'
          or i.force_enrich = 1
          or (i.enrichment_due_at <= ${now}
              and exists (select 1 from sightings r where r.ioc_id = i.id and r.cycle_id = ${cycleId})))
        group by i.id
      )`);
    return result.changes;
  });
}

export interface WorkItem {
  seq: number;
  key: string;
}

/** The next page of the cycle's work list after `afterSeq`, in order. */
export function workPage(db: StoreDb, cycleId: string, afterSeq: number, limit: number): WorkItem[] {
  return db
    .select({ seq: cycleWork.seq, key: iocs.key })
    .from(cycleWork)
    .innerJoin(iocs, eq(iocs.id, cycleWork.iocId))
    .where(and(eq(cycleWork.cycleId, cycleId), gt(cycleWork.seq, afterSeq)))
    .orderBy(asc(cycleWork.seq))
    .limit(limit)
    .all();
}

/** Allowlisted IOCs whose stored score is not yet the allowlist's 0 (newly listed, or never scored). */
export function allowlistedAwaitingZero(db: StoreDb): string[] {
  return db
    .select({ key: iocs.key })
    .from(iocs)
    .where(and(eq(iocs.status, 'allowlisted'), sql`coalesce(${iocs.score}, -1) != 0`))
    .all()
    .map((r) => r.key);
}

/**
 * When the IOC next needs vendor lookups (undefined: unchanged), and when the decay step must look at it
 * again: at `decay.at`, or as soon as a source sees it again if `decay.onSighting`.
 */
export function setDueTimes(
  db: StoreDb,
  iocId: number,
  due: { enrichment?: number | null; decay: { at: number; onSighting: boolean } },
): void {
  const decay = { iocId, decayDueAt: due.decay.at, decayOnSighting: due.decay.onSighting ? 1 : 0 };
  const { setAllDueTimes, setDecayDue } = statements(db);
  if (due.enrichment === undefined) setDecayDue.run(decay);
  else setAllDueTimes.run({ ...decay, enrichmentDueAt: due.enrichment });
}

/**
 * Scored (not allowlisted) IOCs with a score above 0 whose decay check is due at `now` (ageing may have
 * moved the score, or its evidence changed), by id. The others cost nothing: a cycle over a mostly known
 * feed evaluates only the few whose time has come.
 */
export function iocsToDecayAfter(
  db: StoreDb,
  afterId: number,
  now: number,
  limit: number,
): { id: number; key: string; score: number | null; lastSeen: number; type: string }[] {
  return db
    .select({ id: iocs.id, key: iocs.key, score: iocs.score, lastSeen: iocs.lastSeen, type: iocs.type })
    .from(iocs)
    .where(
      and(
        eq(iocs.status, 'scored'),
        gt(iocs.id, afterId),
        gt(iocs.score, 0),
        or(isNull(iocs.decayDueAt), lte(iocs.decayDueAt, now)),
      ),
    )
    .orderBy(asc(iocs.id))
    .limit(limit)
    .all();
}
