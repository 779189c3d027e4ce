import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOptionsAction,
} from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** The configured schedule is not on the server. */
export class ScheduleMissingError extends Error {
  constructor(readonly scheduleId: string) {
    super(`schedule ${scheduleId} does not exist: run \`iocflow schedule apply\` to create it`);
    this.name = 'ScheduleMissingError';
  }
}

/** Runs `fn` on the configured schedule's handle, turning "not found" into an error that names the fix. */
async function onSchedule<T>(
  client: Client,
  config: Config,
  fn: (handle: ScheduleHandle) => Promise<T>,
): Promise<T> {
  try {
    return await fn(client.schedule.getHandle(config.schedule.id));
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new ScheduleMissingError(config.schedule.id);
    throw err;
  }
}

export async function describeSchedule(client: Client, config: Config): Promise<ScheduleDescription> {
  return onSchedule(client, config, (handle) => handle.describe());
}

/** The schedule as an operator reads it (and as `schedule describe --json` prints it). */
export interface ScheduleSummary {
  id: string;
  paused: boolean;
  /** Why it was paused or unpaused, as the operator wrote it (or the server, e.g. on pause-on-failure). */
  note: string | null;
  every: string[];
  overlap: string | null;
  catchupWindowSeconds: number;
  actionsTaken: number;
  skippedOverlap: number;
  running: string[];
  recent: { scheduledAt: string; workflowId: string }[];
  next: string[];
}

export function summariseSchedule(id: string, d: ScheduleDescription): ScheduleSummary {
  return {
    id,
    paused: d.state.paused,
    note: d.state.note || null,
    every: d.spec.intervals?.map((i) => `${Number(i.every) / 1000}s`) ?? [],
    overlap: d.policies.overlap ?? null,
    catchupWindowSeconds: Number(d.policies.catchupWindow) / 1000,
    actionsTaken: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
    recent: d.info.recentActions.slice(-5).map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
    })),
    next: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
  };
}

/** Starts a cycle now through the schedule, under its overlap policy: a running cycle is not doubled. */
export async function triggerSchedule(client: Client, config: Config): Promise<void> {
  await onSchedule(client, config, (handle) => handle.trigger(OVERLAP[config.schedule.overlap]));
}

/** Stops the schedule from starting cycles (a running cycle goes on); the note says why, for the team. */
export async function pauseSchedule(client: Client, config: Config, note?: string): Promise<void> {
  await onSchedule(client, config, (handle) => handle.pause(note ?? 'paused with iocflow schedule pause'));
}

export async function unpauseSchedule(client: Client, config: Config, note?: string): Promise<void> {
  await onSchedule(client, config, (handle) =>
    handle.unpause(note ?? 'unpaused with iocflow schedule unpause'),
  );
}

/** Overlap policies a backfill may use (the schedule's own policy applies to its regular ticks). */
export const BACKFILL_OVERLAP = {
  skip: ScheduleOverlapPolicy.SKIP,
  buffer_all: ScheduleOverlapPolicy.BUFFER_ALL,
  allow_all: ScheduleOverlapPolicy.ALLOW_ALL,
} as const;
export type BackfillOverlap = keyof typeof BACKFILL_OVERLAP;

export interface BackfillOutcome {
  /** Ticks of the schedule in the window, both ends included (as the server counts them). */
  ticks: number;
  /** Cycles the backfill started (as far as the schedule's recent actions show them). */
  started: string[];
  /** Ticks the overlap policy skipped because a cycle was running. */
  skipped: number;
  /** Ticks the server had not acted on yet when we stopped waiting (buffered behind a running cycle). */
  pending: number;
}

/**
 * Runs the schedule's ticks in a past window, e.g. to make up for a pause or an outage. The server
 * processes a backfill asynchronously, so this waits (up to `waitMs`) until every tick in the window was
 * started or skipped, and reports which.
 */
export async function backfillSchedule(
  client: Client,
  config: Config,
  window: { from: Date; to: Date; overlap: BackfillOverlap },
  waitMs = 15_000,
): Promise<BackfillOutcome> {
  return onSchedule(client, config, async (handle) => {
    const before = await handle.describe();
    const ticks = ticksIn(before, window.from.getTime(), window.to.getTime());
    const known = new Set(before.info.recentActions.map((a) => a.action.workflow.workflowId));
    await handle.backfill({ start: window.from, end: window.to, overlap: BACKFILL_OVERLAP[window.overlap] });
    const deadline = Date.now() + waitMs;
    for (;;) {
      const now = await handle.describe();
      const taken = now.info.numActionsTaken - before.info.numActionsTaken;
      const skipped = now.info.numActionsSkippedOverlap - before.info.numActionsSkippedOverlap;
      if (taken + skipped >= ticks || Date.now() >= deadline) {
        return {
          ticks,
          started: now.info.recentActions
            .map((a) => a.action.workflow.workflowId)
            .filter((id) => !known.has(id)),
          skipped,
          pending: Math.max(0, ticks - taken - skipped),
        };
      }
      await sleep(250);
    }
  });
}

/** Interval ticks in [from, to]: the spec's intervals fire at offset + k × every since the epoch. */
function ticksIn(d: ScheduleDescription, from: number, to: number): number {
  let ticks = 0;
  for (const interval of d.spec.intervals ?? []) {
    const every = Number(interval.every);
    const offset = Number(interval.offset ?? 0);
    ticks += Math.max(0, Math.floor((to - offset) / every) - Math.ceil((from - offset) / every) + 1);
  }
  return ticks;
}
