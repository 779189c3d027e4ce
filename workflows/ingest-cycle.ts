import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  condition,
  continueAsNew,
  log,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  emptyReport,
  FAILURE_TYPES,
  progressQuery,
  SEARCH_ATTRIBUTES,
  type CycleProgress,
  type CycleReport,
  type IngestCycleInput,
  type SinkReport,
  type SourceReport,
  type WorkItem,
} from '../src/shared/messages.js';
import { describeFailure } from './failures.js';
import { EnrichIoc } from './enrich-ioc.js';

const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [FAILURE_TYPES.notConfigured],
  },
});

const longRunning = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  // Collect and decay stream through the store; one that stops heartbeating (worker gone) is retried
  // elsewhere, from its last heartbeat.
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [FAILURE_TYPES.notConfigured] },
});

const delivering = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: {
    maximumInterval: '1 minute',
    maximumAttempts: 8,
    nonRetryableErrorTypes: [FAILURE_TYPES.notConfigured],
  },
});

/** Work-list page size: small enough that a page is a few KB of history. */
const PAGE_SIZE = 100;

/**
 * One ingest cycle: collect every source, plan, fan out one EnrichIoc per IOC that needs it within a
 * bounded window, deliver each sink's outbox, report. Bulk data stays in the store; history carries
 * counts and keys only, and the run continues as new when the server suggests it.
 */
export async function IngestCycle(input: IngestCycleInput = {}): Promise<CycleReport> {
  const cycleId = workflowInfo().workflowId;
  const progress: CycleProgress = input.resume?.progress ?? {
    stage: 'collecting',
    planned: 0,
    started: 0,
    completed: 0,
    alreadyRunning: 0,
    failed: 0,
    scoreChanged: 0,
  };
  setHandler(progressQuery, () => progress);

  let plan = input.resume?.plan;
  let sources = input.resume?.sources;
  if (!plan || !sources) {
    plan = await bookkeeping.startCycle({ cycleId });
    progress.collected = 0;
    sources = await Promise.all(plan.sources.map((source) => collectOne(cycleId, source, progress)));
    progress.stage = 'planning';
    progress.planned = (await bookkeeping.planEnrichment({ cycleId })).planned;
    progress.stage = 'enriching';
  }

  const running = new Set<Promise<void>>();
  let cursor = input.resume?.cursor ?? 0;
  for (;;) {
    const page = await bookkeeping.nextWorkPage({ cycleId, afterSeq: cursor, limit: PAGE_SIZE });
    if (page.length === 0) break;
    for (const item of page) {
      const limit = plan.maxConcurrentChildren;
      await condition(() => running.size < limit);
      const child = enrichOne(cycleId, item, progress).finally(() => running.delete(child));
      running.add(child);
      cursor = item.seq;
      if (workflowInfo().continueAsNewSuggested) {
        // Children are awaited here, so none is orphaned by the new run and the counts are exact.
        await Promise.all(running);
        await continueAsNew<typeof IngestCycle>({ resume: { plan, cursor, sources, progress } });
      }
    }
  }
  await Promise.all(running);

  progress.stage = 'decaying';
  // The cycle's own clock (deterministic, and advanced by a time-skipping test server) dates the ageing.
  const decay = await longRunning.decayScores({ cycleId, now: Date.now() });
  progress.decayed = decay.rescored;
  progress.expired = decay.expired;

  progress.stage = 'delivering';
  progress.delivered = 0;
  const sinks = await Promise.all(plan.sinks.map((sink) => deliverOne(cycleId, sink, progress)));
  progress.stage = 'done';
  const report: CycleReport = { cycleId, sources, progress, sinks };
  await bookkeeping.finishCycle({ report });
  return report;
}

/** A source that fails is reported and the cycle goes on with the others. */
async function collectOne(cycleId: string, source: string, progress: CycleProgress): Promise<SourceReport> {
  try {
    const report = await longRunning.collectSource({ cycleId, source });
    progress.collected = (progress.collected ?? 0) + report.indicators;
    return report;
  } catch (err) {
    log.warn('source failed', { source, error: describeFailure(err) });
    return { ...emptyReport(source), status: 'failed', error: describeFailure(err) };
  }
}

async function enrichOne(cycleId: string, item: WorkItem, progress: CycleProgress): Promise<void> {
  try {
    const child = await startChild(EnrichIoc, {
      workflowId: item.workflowId,
      args: [{ key: item.key, vendors: item.vendors, cycleId }],
      // Enrichment that already cost vendor quota is worth finishing even if this cycle is terminated.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.iocType, value: item.iocType },
        { key: SEARCH_ATTRIBUTES.iocValue, value: item.iocValue },
        { key: SEARCH_ATTRIBUTES.iocStage, value: 'enriching' },
      ],
    });
    progress.started++;
    const result = await child.result();
    progress.completed++;
    if (result.changed) progress.scoreChanged++;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      // An analyst's re-enrichment (or a previous cycle) holds this IOC's workflow; it scores it itself.
      progress.alreadyRunning++;
      return;
    }
    progress.failed++;
    log.warn('enrichment failed', { key: item.key, error: describeFailure(err) });
  }
}

/** A sink that fails keeps its outbox for the next cycle; the others still deliver. */
async function deliverOne(cycleId: string, sink: string, progress: CycleProgress): Promise<SinkReport> {
  try {
    const report = await delivering.deliver({ cycleId, sink });
    progress.delivered = (progress.delivered ?? 0) + report.delivered;
    return report;
  } catch (err) {
    log.warn('sink failed', { sink, error: describeFailure(err) });
    return { sink, delivered: 0, rejected: 0, batches: 0, pending: -1, error: describeFailure(err) };
  }
}
