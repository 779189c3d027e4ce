import {
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { VendorActivities } from '../activities/vendors.js';
import {
  FAILURE_TYPES,
  reenrichSignal,
  SEARCH_ATTRIBUTES,
  statusQuery,
  VENDOR_ACTIVITIES,
  vendorTaskQueue,
  type EnrichIocInput,
  type EnrichIocResult,
  type IocStage,
  type IocStatus,
  type Vendor,
  type VendorStep,
} from '../src/shared/messages.js';
import { describeFailure } from './failures.js';

const scoringRetry = {
  maximumInterval: '30 seconds',
  maximumAttempts: 10,
  nonRetryableErrorTypes: [FAILURE_TYPES.iocNotFound],
};

/** Runs before the `score-locally` patch: a regular activity, one more task round trip per IOC. */
const scoring = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: scoringRetry });

/**
 * Scoring is a few milliseconds of SQLite on the worker that already holds the store, so it runs as a
 * local activity: no activity task to dispatch and no extra workflow task, one marker event instead of
 * three, which is most of an IOC's history once the vendors are cached.
 */
const localScoring = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: scoringRetry,
});

/** Patch IDs of changes to EnrichIoc that runs started before them must replay around. */
const PATCHES = { scoreLocally: 'score-locally', oneUpsert: 'one-upsert' } as const;

/**
 * The life of one IOC's enrichment: ask each applicable vendor (cached answers are reused), score with
 * what came back, record. ID `ioc:<type>:<value>`, so an analyst finds it by value; a `reenrich` signal
 * runs it again bypassing the cache, a `status` query shows where it is and what each vendor said.
 */
export async function EnrichIoc(input: EnrichIocInput): Promise<EnrichIocResult> {
  const status: IocStatus = { key: input.key, stage: 'enriching' };
  let force = input.force ?? false;
  let again = false;
  setHandler(statusQuery, () => status);
  setHandler(reenrichSignal, () => {
    again = true;
  });

  // Each upsert is a history event and a visibility write: since `one-upsert`, a run starts with the stage
  // its starter set (`enriching`) and upserts once, when it is scored; the `status` query has every stage.
  const oneUpsert = patched(PATCHES.oneUpsert);
  const stage = (next: IocStage) => (oneUpsert ? (status.stage = next) : setStage(status, next));

  let result: EnrichIocResult;
  do {
    again = false;
    stage('enriching');
    const steps = await Promise.all(input.vendors.map((vendor) => askVendor(vendor, input.key, force)));
    status.vendors = steps;
    stage('scoring');
    const scorer = patched(PATCHES.scoreLocally) ? localScoring : scoring;
    const scored = await scorer.scoreIoc({
      key: input.key,
      ...(input.cycleId ? { cycleId: input.cycleId } : {}),
      gaps: steps.flatMap((s) =>
        s.status === 'skipped' || s.status === 'failed' ? [{ vendor: s.vendor, reason: s.reason }] : [],
      ),
    });
    result = {
      key: scored.key,
      score: scored.score,
      severity: scored.severity,
      scoreVersion: scored.scoreVersion,
      changed: scored.changed,
    };
    Object.assign(status, {
      score: scored.score,
      severity: scored.severity,
      explanation: scored.explanation,
    });
    const scoredAttributes = [
      { key: SEARCH_ATTRIBUTES.iocScore, value: scored.score },
      { key: SEARCH_ATTRIBUTES.iocSources, value: scored.sources },
    ] as const;
    if (oneUpsert) {
      // A re-enrichment signalled meanwhile runs next: the stage says so rather than `done`.
      status.stage = again ? 'enriching' : 'done';
      upsertSearchAttributes([...scoredAttributes, { key: SEARCH_ATTRIBUTES.iocStage, value: status.stage }]);
    } else {
      upsertSearchAttributes([...scoredAttributes]);
    }
    // A re-enrichment asked for while this one ran gets fresh answers, not the ones just cached.
    force = true;
  } while (again);
  if (!oneUpsert) setStage(status, 'done');
  return result;
}

/**
 * One vendor's lookup on that vendor's rate-limited task queue. A vendor that stays down past its retries
 * (or rejects the key) degrades this IOC's enrichment; it never fails the IOC or the cycle.
 */
async function askVendor(vendor: Vendor, key: string, force: boolean): Promise<VendorStep> {
  const activities = proxyActivities<VendorActivities>({
    taskQueue: vendorTaskQueue(workflowInfo().taskQueue, vendor),
    summary: `${vendor} lookup of ${key}${force ? ' (forced)' : ''}`,
    // Time in the rate-limited queue does not count: a backlog is normal, a silent worker is not. The
    // budget covers the vendor timeout plus a wait for this process's pacer.
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '15 seconds',
    retry: {
      initialInterval: '2 seconds',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: 5,
      nonRetryableErrorTypes: [
        FAILURE_TYPES.authRejected,
        FAILURE_TYPES.requestRejected,
        FAILURE_TYPES.notConfigured,
      ],
    },
  });
  try {
    return await activities[VENDOR_ACTIVITIES[vendor]]({ key, force });
  } catch (err) {
    return { vendor, status: 'failed', reason: describeFailure(err) };
  }
}

function setStage(status: IocStatus, stage: IocStage): void {
  status.stage = stage;
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.iocStage, value: stage }]);
}
