import { and, asc, eq, isNull, lt, notExists, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import type { Contribution } from '../scoring/index.js';
import type { StoreDb } from './open.js';
import { evidenceOf, provenanceOf, scoredIocColumns } from './provenance.js';
import { deliveries, iocs, outbox, scores, sinkInflight } from './schema.js';

/** Everything a sink needs to deliver one outbox row. */
export interface DeliveryItem {
  outboxId: number;
  action: 'upsert' | 'withdraw';
  /** `<ioc key>|<sink>|<score version>|<action>`: stable across retries, so duplicates are recognisable. */
  deliveryId: string;
  key: string;
  type: string;
  value: string;
  scoreVersion: number;
  score: number;
  severity: string;
  /** 0–100: how much evidence stands behind the score. */
  confidence: number;
  /** Epoch ms when the IOC expires unless seen again (sinks set it as valid-until / expiration). */
  expiresAt: number | null;
  explanation: Contribution[];
  sources: string[];
  /** Where each source saw the IOC (`sourceRef`: the MISP event UUID, the OTX pulse id…), by source. */
  refs: { source: string; ref: string }[];
  tags: string[];
  /** What each vendor said, one line each (`virustotal: 52/90 malicious`…). */
  evidence: string[];
  firstSeen: number;
  lastSeen: number;
  /** Epoch ms when this score version was computed: a stable "modified" time for sinks that need one. */
  scoredAt: number;
}

/**
 * The oldest pending outbox rows of a sink, oldest first, at most one per IOC: the IOC's oldest. A sink may
 * group a batch's actions by kind (CrowdStrike creates before it deletes), so two actions on one IOC in a
 * batch could reach it in the wrong order and leave the older decision in force. The IOC's next action
 * goes out in a later batch, once this one is settled.
 */
export function pendingDeliveries(db: StoreDb, sink: string, limit: number): DeliveryItem[] {
  const earlier = alias(outbox, 'earlier');
  const earlierSettled = alias(deliveries, 'earlier_settled');
  const earlierPending = db
    .select({ one: sql`1` })
    .from(earlier)
    .leftJoin(earlierSettled, eq(earlierSettled.outboxId, earlier.id))
    .where(
      and(
        eq(earlier.iocId, outbox.iocId),
        eq(earlier.sink, outbox.sink),
        lt(earlier.id, outbox.id),
        isNull(earlierSettled.outboxId),
      ),
    );
  const rows = db
    .select({
      outboxId: outbox.id,
      action: outbox.action,
      scoreVersion: outbox.scoreVersion,
      iocId: iocs.id,
      ...scoredIocColumns,
    })
    .from(outbox)
    .innerJoin(iocs, eq(iocs.id, outbox.iocId))
    .innerJoin(scores, and(eq(scores.iocId, outbox.iocId), eq(scores.version, outbox.scoreVersion)))
    .leftJoin(deliveries, eq(deliveries.outboxId, outbox.id))
    .where(and(eq(outbox.sink, sink), isNull(deliveries.outboxId), notExists(earlierPending)))
    .orderBy(asc(outbox.id))
    .limit(limit)
    .all();
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.iocId);
  const provenance = provenanceOf(db, ids);
  const evidence = evidenceOf(db, ids);
  return rows.map(({ iocId, explanation, ...r }) => ({
    ...r,
    deliveryId: `${r.key}|${sink}|${r.scoreVersion}|${r.action}`,
    explanation: JSON.parse(explanation) as Contribution[],
    ...provenance(iocId),
    evidence: evidence(iocId),
  }));
}

export function countPending(db: StoreDb, sink: string): number {
  const row = db
    .select({ n: sql<number>`count(*)` })
    .from(outbox)
    .leftJoin(deliveries, eq(deliveries.outboxId, outbox.id))
    .where(and(eq(outbox.sink, sink), isNull(deliveries.outboxId)))
    .get();
  return row?.n ?? 0;
}

/**
 * What a sink settled for one cycle, from the ledger: every attempt of the cycle's delivery counts, including
 * one whose worker died before it could report.
 */
export function settledInCycle(
  db: StoreDb,
  sink: string,
  cycleId: string,
): { delivered: number; rejected: number } {
  const rows = db
    .select({ outcome: deliveries.outcome, n: sql<number>`count(*)` })
    .from(deliveries)
    .where(and(eq(deliveries.sink, sink), eq(deliveries.cycleId, cycleId)))
    .groupBy(deliveries.outcome)
    .all();
  const count = (outcome: string) => rows.find((r) => r.outcome === outcome)?.n ?? 0;
  return { delivered: count('delivered'), rejected: count('rejected') };
}

/**
 * Records a sink's answer to a batch, and forgets the batch's in-flight marker in the same transaction:
 * after this, a retry has nothing to undo.
 */
export function markSettled(
  db: StoreDb,
  sink: string,
  settled: { accepted: readonly number[]; rejected: readonly { outboxId: number; message: string }[] },
  cycleId: string | null,
  now: number,
  /** The sink still has requests in flight for the unanswered rest of the batch: keep its marker. */
  keepInflight = false,
): void {
  const rows = [
    ...settled.accepted.map((outboxId) => ({ outboxId, outcome: 'delivered' as const, message: null })),
    ...settled.rejected.map((r) => ({
      outboxId: r.outboxId,
      outcome: 'rejected' as const,
      message: r.message,
    })),
  ];
  db.transaction((tx) => {
    if (rows.length > 0) {
      tx.insert(deliveries)
        .values(rows.map((r) => ({ ...r, sink, deliveredAt: now, cycleId })))
        .onConflictDoNothing()
        .run();
    }
    if (!keepInflight) tx.delete(sinkInflight).where(eq(sinkInflight.sink, sink)).run();
  });
}

export function readInflight(db: StoreDb, sink: string): unknown {
  const row = db.select().from(sinkInflight).where(eq(sinkInflight.sink, sink)).get();
  return row ? (JSON.parse(row.state) as unknown) : undefined;
}

export function writeInflight(db: StoreDb, sink: string, state: unknown): void {
  db.insert(sinkInflight)
    .values({ sink, state: JSON.stringify(state) })
    .onConflictDoUpdate({ target: sinkInflight.sink, set: { state: JSON.stringify(state) } })
    .run();
}
