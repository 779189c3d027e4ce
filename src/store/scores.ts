import { and, desc, eq, gte, isNull, notExists, or, gt, sql } from 'drizzle-orm';
import type { ScoreResult } from '../scoring/index.js';
import type { StoreDb } from './open.js';
import { placeholders, preparedPerConnection } from './prepared.js';
import { iocs, outbox, scores, sightings } from './schema.js';

/** Every vendor lookup finds its IOC, and every scoring reads it whole and records the result. */
const statements = preparedPerConnection((db) => {
  const byKey = eq(iocs.key, sql.placeholder('key'));
  return {
    iocId: db.select({ id: iocs.id }).from(iocs).where(byKey).prepare(),
    ioc: db.select().from(iocs).where(byKey).prepare(),
    sightingsOf: db
      .select({
        source: sightings.source,
        sourceRef: sightings.sourceRef,
        tags: sightings.tags,
        confidence: sightings.confidence,
      })
      .from(sightings)
      .where(eq(sightings.iocId, sql.placeholder('iocId')))
      .prepare(),
    latestScore: db
      .select()
      .from(scores)
      .where(eq(scores.iocId, sql.placeholder('iocId')))
      .orderBy(desc(scores.version))
      .limit(1)
      .prepare(),
    insertScore: db
      .insert(scores)
      .values(
        placeholders(
          'iocId',
          'version',
          'score',
          'severity',
          'confidence',
          'expiresAt',
          'modelVersion',
          'explanation',
          'computedAt',
          'cycleId',
        ),
      )
      .prepare(),
    markScored: db
      .update(iocs)
      .set({
        ...placeholders('score', 'severity', 'scoreVersion', 'scoredAt'),
        forceEnrich: false,
        status: sql`case when ${iocs.allowlist} is not null then 'allowlisted' else 'scored' end`,
      })
      .where(eq(iocs.id, sql.placeholder('iocId')))
      .prepare(),
    lastSinkAction: db
      .select({ action: outbox.action })
      .from(outbox)
      .where(and(eq(outbox.iocId, sql.placeholder('iocId')), eq(outbox.sink, sql.placeholder('sink'))))
      .orderBy(desc(outbox.id))
      .limit(1)
      .prepare(),
    queueSinkAction: db
      .insert(outbox)
      .values(placeholders('iocId', 'sink', 'action', 'scoreVersion', 'createdAt'))
      .onConflictDoNothing()
      .prepare(),
  };
});

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
  return statements(db).iocId.get({ key })?.id;
}

export function findIoc(db: StoreDb, key: string): IocRecord | undefined {
  const { ioc, sightingsOf } = statements(db);
  const row = ioc.get({ key });
  if (!row) return undefined;
  const seen = sightingsOf
    .all({ iocId: row.id })
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
  const prepared = statements(db);
  return db.$client.transaction(() => {
    const explanation = JSON.stringify(result.explanation);
    const latest = prepared.latestScore.get({ iocId });
    const unchanged =
      latest !== undefined &&
      latest.score === result.score &&
      latest.explanation === explanation &&
      latest.modelVersion === result.modelVersion;
    const version = unchanged ? latest.version : (latest?.version ?? 0) + 1;
    // Sinks that keep the newest by time (Sentinel's `modified`) must see versions in order, even when the
    // worker that records this one has a clock behind the one that recorded the last.
    const computedAt = Math.max(now, (latest?.computedAt ?? 0) + 1);
    if (!unchanged) {
      prepared.insertScore.run({
        iocId,
        version,
        score: result.score,
        severity: result.severity,
        confidence: result.confidence,
        expiresAt: result.expiresAt,
        modelVersion: result.modelVersion,
        explanation,
        computedAt,
        cycleId,
      });
    }
    prepared.markScored.run({
      iocId,
      score: result.score,
      severity: result.severity,
      scoreVersion: version,
      scoredAt: now,
    });
    if (!unchanged) {
      for (const { sink, threshold } of sinks)
        queueForSink(db, iocId, sink, version, result.score >= threshold, now);
    }
    return { version, changed: !unchanged };
  })();
}

function queueForSink(
  db: StoreDb,
  iocId: number,
  sink: string,
  scoreVersion: number,
  qualifies: boolean,
  createdAt: number,
): void {
  const { lastSinkAction, queueSinkAction } = statements(db);
  const held = lastSinkAction.get({ iocId, sink })?.action === 'upsert';
  if (!qualifies && !held) return;
  queueSinkAction.run({ iocId, sink, action: qualifies ? 'upsert' : 'withdraw', scoreVersion, createdAt });
}

/**
 * Queues an upsert, for each sink, of every IOC that qualifies for it now but was never queued to it: the
 * current set of a sink added to a running deployment (scoring queues only what it scores from then on),
 * or the IOCs a lowered threshold now admits that the sink never held. Expired and allowlisted IOCs are not
 * sent. Returns how many rows were queued per sink; a second call queues nothing.
 */
export function queueMissedUpserts(
  db: StoreDb,
  sinks: readonly SinkThreshold[],
  now: number,
): Record<string, number> {
  const queued: Record<string, number> = {};
  for (const { sink, threshold } of sinks) {
    const candidates = db
      .select({
        // INSERT … SELECT names every column in table order; a null id takes the next row id.
        id: sql<number>`null`.as('id'),
        iocId: iocs.id,
        sink: sql<string>`${sink}`.as('sink'),
        action: sql<'upsert'>`'upsert'`.as('action'),
        scoreVersion: iocs.scoreVersion,
        createdAt: sql<number>`${now}`.as('created_at'),
      })
      .from(iocs)
      .innerJoin(scores, and(eq(scores.iocId, iocs.id), eq(scores.version, iocs.scoreVersion)))
      .where(
        and(
          eq(iocs.status, 'scored'),
          gte(iocs.score, threshold),
          or(isNull(scores.expiresAt), gt(scores.expiresAt, now)),
          notExists(
            db
              .select({ one: sql`1` })
              .from(outbox)
              .where(and(eq(outbox.iocId, iocs.id), eq(outbox.sink, sink))),
          ),
        ),
      );
    queued[sink] = db.insert(outbox).select(candidates).onConflictDoNothing().run().changes;
  }
  return queued;
}
