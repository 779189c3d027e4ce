import { and, desc, eq, sql } from 'drizzle-orm';
import type { ScoreResult } from '../scoring/index.js';
import type { StoreDb } from './open.js';
import { iocs, outbox, scores, sightings } from './schema.js';

export interface IocRecord {
  id: number;
  key: string;
  type: string;
  value: string;
  firstSeen: number;
  lastSeen: number;
  allowlist: string | null;
  status: string;
  score: number | null;
  scoreVersion: number;
  sightings: { source: string; sourceRef: string; tags: string[]; confidence: number | null }[];
}

/** The row id of an IOC, without its sightings: what a vendor lookup needs on its hot path. */
export function iocIdOf(db: StoreDb, key: string): number | undefined {
  return db.select({ id: iocs.id }).from(iocs).where(eq(iocs.key, key)).get()?.id;
}

export function findIoc(db: StoreDb, key: string): IocRecord | undefined {
  const row = db.select().from(iocs).where(eq(iocs.key, key)).get();
  if (!row) return undefined;
  const seen = db
    .select({
      source: sightings.source,
      sourceRef: sightings.sourceRef,
      tags: sightings.tags,
      confidence: sightings.confidence,
    })
    .from(sightings)
    .where(eq(sightings.iocId, row.id))
    .all()
    .map((s) => ({ ...s, tags: JSON.parse(s.tags) as string[] }));
  return { ...row, sightings: seen };
}

/** A sink's delivery threshold, as far as scoring is concerned. */
export interface SinkThreshold {
  sink: string;
  threshold: number;
}

export interface RecordedScore {
  version: number;
  /** False when the score and its explanation equal the latest one: nothing new for the sinks. */
  changed: boolean;
}

/**
 * Stores a score as the IOC's newest version and queues what each sink must now receive: an upsert when
 * the score reaches the sink's threshold, a withdrawal when an IOC the sink holds drops below it.
 * Re-recording an unchanged score is a no-op, which keeps a retried activity from delivering twice.
 */
export function recordScore(
  db: StoreDb,
  iocId: number,
  result: ScoreResult,
  sinks: readonly SinkThreshold[],
  cycleId: string | null,
  now: number,
): RecordedScore {
  return db.transaction((tx) => {
    const explanation = JSON.stringify(result.explanation);
    const latest = tx
      .select()
      .from(scores)
      .where(eq(scores.iocId, iocId))
      .orderBy(desc(scores.version))
      .limit(1)
      .get();
    const unchanged =
      latest !== undefined &&
      latest.score === result.score &&
      latest.explanation === explanation &&
      latest.modelVersion === result.modelVersion;
    const version = unchanged ? latest.version : (latest?.version ?? 0) + 1;
    if (!unchanged) {
      tx.insert(scores)
        .values({
          iocId,
          version,
          score: result.score,
          severity: result.severity,
          confidence: result.confidence,
          expiresAt: result.expiresAt,
          modelVersion: result.modelVersion,
          explanation,
          computedAt: now,
          cycleId,
        })
        .run();
    }
    tx.update(iocs)
      .set({
        score: result.score,
        severity: result.severity,
        scoreVersion: version,
        scoredAt: now,
        forceEnrich: false,
        status: sql`case when ${iocs.allowlist} is not null then 'allowlisted' else 'scored' end`,
      })
      .where(eq(iocs.id, iocId))
      .run();
    if (!unchanged) {
      for (const { sink, threshold } of sinks)
        queueForSink(tx, iocId, sink, version, result.score >= threshold, now);
    }
    return { version, changed: !unchanged };
  });
}

function queueForSink(
  tx: Pick<StoreDb, 'select' | 'insert'>,
  iocId: number,
  sink: string,
  version: number,
  qualifies: boolean,
  now: number,
): void {
  const last = tx
    .select({ action: outbox.action })
    .from(outbox)
    .where(and(eq(outbox.iocId, iocId), eq(outbox.sink, sink)))
    .orderBy(desc(outbox.id))
    .limit(1)
    .get();
  const held = last?.action === 'upsert';
  if (!qualifies && !held) return;
  tx.insert(outbox)
    .values({ iocId, sink, action: qualifies ? 'upsert' : 'withdraw', scoreVersion: version, createdAt: now })
    .onConflictDoNothing()
    .run();
}
