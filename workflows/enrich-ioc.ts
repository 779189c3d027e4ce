import { proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  FAILURE_TYPES,
  reenrichSignal,
  SEARCH_ATTRIBUTES,
  statusQuery,
  type EnrichIocInput,
  type EnrichIocResult,
  type IocStage,
  type IocStatus,
} from '../src/shared/messages.js';

const scoring = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: {
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [FAILURE_TYPES.iocNotFound],
  },
});

/**
 * The life of one IOC's enrichment: enrich, score, record. ID `ioc:<type>:<value>`, so an analyst finds it
 * by value; a `reenrich` signal runs it again with fresh data, a `status` query shows where it is.
 */
export async function EnrichIoc(input: EnrichIocInput): Promise<EnrichIocResult> {
  const status: IocStatus = { key: input.key, stage: 'enriching' };
  let again = false;
  setHandler(statusQuery, () => status);
  setHandler(reenrichSignal, () => {
    again = true;
  });

  let result: EnrichIocResult;
  do {
    again = false;
    setStage(status, 'scoring');
    const scored = await scoring.scoreIoc({
      key: input.key,
      ...(input.cycleId ? { cycleId: input.cycleId } : {}),
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
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.iocScore, value: scored.score },
      { key: SEARCH_ATTRIBUTES.iocSources, value: scored.sources },
    ]);
  } while (again);
  setStage(status, 'done');
  return result;
}

function setStage(status: IocStatus, stage: IocStage): void {
  status.stage = stage;
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.iocStage, value: stage }]);
}
