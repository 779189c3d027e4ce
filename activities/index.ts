import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { Got } from 'got';
import type { Config } from '../src/config/index.js';
import { createHttpClient } from '../src/http/client.js';
import type { PipelineMetrics } from '../src/observability/metrics.js';
import { toActivityFailure } from './failures.js';
import { iocWorkflowId, iocSearchValue } from '../src/ioc/identity.js';
import { parseKey } from '../src/ioc/index.js';
import { collect, type AllowlistMatcher } from '../src/pipeline/collect.js';
import { deliveryHolder, drainOutbox } from '../src/pipeline/deliver.js';
import { decayScores, type DecayReport } from '../src/pipeline/decay.js';
import { scoreAndRecord, sinkThresholds, type VendorGap } from '../src/pipeline/score.js';
import { vendorsFor } from '../src/enrichers/index.js';
import {
  FAILURE_TYPES,
  type CyclePlan,
  type CycleReport,
  type EnrichIocResult,
  type IocStatus,
  type SinkReport,
  type SourceReport,
  type WorkItem,
} from '../src/shared/messages.js';
import { createSink, TokenCache } from '../src/sinks/index.js';
import { createSource } from '../src/sources/index.js';
import {
  allowlistedAwaitingZero,
  cycleStartedAt,
  finishCycleRow,
  planWork,
  queueMissedUpserts,
  recordSourceFailure,
  settledInCycle,
  startCycleRow,
  workPage,
  type Store,
} from '../src/store/index.js';

export interface ActivityDeps {
  config: Config;
  store: Store;
  allowlists: AllowlistMatcher;
  /** The shared HTTP client; tests may pass one with a short timeout. */
  http?: Got;
  now?: () => number;
  /** Where the pipeline steps count what they do; none in tests that do not look. */
  metrics?: PipelineMetrics;
}

/** Byte budget of one work-list page in the cycle's history. */
export const WORK_PAGE_BYTES = 16 * 1024;

/**
 * The activity object the worker registers. Thin adapters over src/: they heartbeat, resume from the last
 * heartbeat, and turn domain errors into failures the workflow's retry policy understands.
 */
export function createActivities(deps: ActivityDeps) {
  const { config, store, metrics } = deps;
  const now = deps.now ?? Date.now;
  const db = store.db;
  const http = deps.http ?? createHttpClient();
  // Sink OAuth tokens outlive one delivery: a worker asks Entra ID / Falcon again only near expiry.
  const tokens = new TokenCache(now);

  return {
    /** Records the cycle and names what it will touch. */
    async startCycle(input: { cycleId: string }): Promise<CyclePlan> {
      startCycleRow(db, input.cycleId, now());
      return {
        maxConcurrentChildren: config.cycle.maxConcurrentChildren,
        sources: Object.entries(config.sources)
          .filter(([, s]) => s.enabled)
          .map(([name]) => name),
        sinks: Object.entries(config.sinks)
          .filter(([, s]) => s.enabled)
          .map(([name]) => name),
      };
    },

    /** Pulls one source into the store, heartbeating its cursor so a retry resumes after the last stored page. */
    async collectSource(input: { cycleId: string; source: string }): Promise<SourceReport> {
      const sourceConfig = config.sources[input.source];
      if (!sourceConfig) {
        throw ApplicationFailure.nonRetryable(
          `source '${input.source}' is not in the configuration (config: sources.${input.source})`,
          FAILURE_TYPES.notConfigured,
        );
      }
      const ctx = Context.current();
      const resume = ctx.info.heartbeatDetails as { cursor: string; report: SourceReport } | undefined;
      try {
        const { report } = await collect(createSource(input.source, sourceConfig), db, {
          cycleId: input.cycleId,
          now,
          allowlists: deps.allowlists,
          http,
          resume,
          signal: ctx.cancellationSignal,
          onPageStored: (cursor, progress) => ctx.heartbeat({ cursor, report: progress }),
          metrics,
        });
        log.info('source collected', { report });
        return report;
      } catch (err) {
        recordSourceFailure(db, input.source, err instanceof Error ? err.message : String(err), now());
        throw err;
      }
    },

    /**
     * Scores allowlisted IOCs 0 in bulk, queues for each sink what it qualifies for but never received (a
     * sink added since), and writes the cycle's work list.
     */
    async planEnrichment(input: { cycleId: string }): Promise<{ planned: number; allowlisted: number }> {
      const allowlisted = allowlistedAwaitingZero(db);
      for (const key of allowlisted) scoreAndRecord(db, config, key, input.cycleId, now());
      const missed = queueMissedUpserts(db, sinkThresholds(config), now());
      for (const [sink, queued] of Object.entries(missed))
        if (queued > 0)
          log.info('queued for a sink the IOCs it qualifies for but never received', { sink, queued });
      const plan = { planned: planWork(db, input.cycleId, now()), allowlisted: allowlisted.length };
      log.info('enrichment planned', plan);
      return plan;
    },

    /**
     * The next page of the work list: at most `limit` items and about WORK_PAGE_BYTES (long URLs make
     * big keys), so a page stays a few KB of the cycle's history; always at least one item.
     */
    async nextWorkPage(input: { cycleId: string; afterSeq: number; limit: number }): Promise<WorkItem[]> {
      const page: WorkItem[] = [];
      let bytes = 0;
      for (const { seq, key } of workPage(db, input.cycleId, input.afterSeq, input.limit)) {
        const { type, value } = parseKey(key);
        const item: WorkItem = {
          seq,
          key,
          vendors: vendorsFor(type, config),
          workflowId: iocWorkflowId(key),
          iocType: type,
          iocValue: iocSearchValue(value),
        };
        bytes += JSON.stringify(item).length;
        if (page.length > 0 && bytes > WORK_PAGE_BYTES) break;
        page.push(item);
      }
      return page;
    },

    /** Scores one IOC and queues its deliveries. */
    async scoreIoc(input: {
      key: string;
      cycleId?: string;
      /** Vendors that could not be used this time; recorded, shown in the explanation, retried next cycle. */
      gaps?: VendorGap[];
    }): Promise<EnrichIocResult & Omit<IocStatus, 'stage' | 'vendors'> & { sources: string[] }> {
      const scored = scoreAndRecord(db, config, input.key, input.cycleId ?? null, now(), input.gaps);
      if (!scored) {
        throw ApplicationFailure.nonRetryable(
          `IOC ${input.key} is not in the store`,
          FAILURE_TYPES.iocNotFound,
        );
      }
      metrics?.scored(scored.ioc.type, scored.result.score);
      log[scored.changed ? 'info' : 'debug']('scored', {
        score: scored.result.score,
        changed: scored.changed,
        version: scored.version,
      });
      return {
        key: input.key,
        score: scored.result.score,
        severity: scored.result.severity,
        scoreVersion: scored.version,
        changed: scored.changed,
        explanation: scored.result.explanation,
        sources: [...new Set(scored.ioc.sightings.map((s) => s.source))].sort(),
      };
    },

    /** Drains one sink's outbox; idempotent through the delivery ledger and the sink's in-flight marker. */
    async deliver(input: { cycleId: string | null; sink: string }): Promise<SinkReport> {
      const sinkConfig = config.sinks[input.sink];
      if (!sinkConfig) {
        throw ApplicationFailure.nonRetryable(
          `sink '${input.sink}' is not in the configuration (config: sinks.${input.sink})`,
          FAILURE_TYPES.notConfigured,
        );
      }
      const ctx = Context.current();
      const { workflowExecution, activityRunId, activityId, attempt } = ctx.info;
      try {
        const sink = createSink(input.sink, sinkConfig, { http, tokens, now, warn: (m) => void log.warn(m) });
        const report = await drainOutbox(sink, db, {
          cycleId: input.cycleId,
          holder: deliveryHolder(
            workflowExecution?.workflowId ?? activityRunId ?? 'no-workflow',
            activityId,
            attempt,
          ),
          now,
          batchSize: sinkConfig.batchSize,
          signal: ctx.cancellationSignal,
          resume: ctx.info.heartbeatDetails as SinkReport | undefined,
          onBatch: (running) => ctx.heartbeat(running),
          metrics,
        });
        // Heartbeats are throttled, so a killed attempt's last batches may be missing from the resumed
        // count; the ledger has every batch any attempt settled for this cycle.
        const settled =
          input.cycleId === null ? report : { ...report, ...settledInCycle(db, input.sink, input.cycleId) };
        log.info('sink drained', { report: settled });
        return settled;
      } catch (err) {
        metrics?.deliveryFailed(input.sink);
        throw toActivityFailure(err);
      }
    },

    /** Ages every scored IOC; heartbeats its position so a retry resumes where the last attempt stopped. */
    async decayScores(input: { cycleId: string; now: number }): Promise<DecayReport> {
      const ctx = Context.current();
      const resume = ctx.info.heartbeatDetails as { afterId: number; report: DecayReport } | undefined;
      const report = decayScores(db, config, input.cycleId, input.now, {
        ...(resume ? { afterId: resume.afterId, report: resume.report } : {}),
        onPage: (afterId, report) => ctx.heartbeat({ afterId, report }),
      });
      log.info('scores decayed', { report });
      return report;
    },

    async finishCycle(input: { report: CycleReport }): Promise<void> {
      const startedAt = cycleStartedAt(db, input.report.cycleId);
      finishCycleRow(db, input.report.cycleId, now(), input.report);
      metrics?.cycleFinished(startedAt === undefined ? undefined : now() - startedAt);
      log.info('cycle finished', { progress: input.report.progress });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
