import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsAction,
} from '@temporalio/client';
import type { Config } from '../config/index.js';
import { WORKFLOW_TYPES } from '../shared/messages.js';
import { durationMs } from '../config/primitives.js';

const OVERLAP = { skip: ScheduleOverlapPolicy.SKIP, buffer_one: ScheduleOverlapPolicy.BUFFER_ONE } as const;

function desired(config: Config) {
  const { schedule, temporal } = config;
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: WORKFLOW_TYPES.ingestCycle,
    taskQueue: temporal.taskQueue,
    args: [{}],
    workflowId: `${schedule.id}-run`,
  };
  return {
    spec: { intervals: [{ every: schedule.every }] },
    action,
    policies: { overlap: OVERLAP[schedule.overlap], catchupWindow: schedule.catchupWindow },
  };
}

export type ApplyOutcome = 'created' | 'updated' | 'unchanged';

/**
 * Creates the cycle schedule, or brings an existing one in line with the config. Idempotent: applying
 * the same config twice changes nothing the second time.
 */
export async function applySchedule(client: Client, config: Config): Promise<ApplyOutcome> {
  const want = desired(config);
  try {
    await client.schedule.create({ scheduleId: config.schedule.id, ...want });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(config.schedule.id);
  if (matches(await handle.describe(), config)) return 'unchanged';
  await handle.update((previous) => ({ ...previous, ...want }));
  return 'updated';
}

function matches(current: ScheduleDescription, config: Config): boolean {
  const interval = current.spec.intervals?.[0];
  const action = current.action;
  return (
    current.spec.intervals?.length === 1 &&
    interval !== undefined &&
    Number(interval.every) === durationMs(config.schedule.every) &&
    current.policies.overlap === OVERLAP[config.schedule.overlap] &&
    Number(current.policies.catchupWindow) === durationMs(config.schedule.catchupWindow) &&
    action.type === 'startWorkflow' &&
    action.workflowType === WORKFLOW_TYPES.ingestCycle &&
    action.taskQueue === config.temporal.taskQueue
  );
}

export async function describeSchedule(client: Client, config: Config): Promise<ScheduleDescription> {
  return client.schedule.getHandle(config.schedule.id).describe();
}

/** Starts a cycle now through the schedule, under its overlap policy: a running cycle is not doubled. */
export async function triggerSchedule(client: Client, config: Config): Promise<void> {
  await client.schedule.getHandle(config.schedule.id).trigger(OVERLAP[config.schedule.overlap]);
}
