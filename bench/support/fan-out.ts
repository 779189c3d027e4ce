import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const shapeActivities = {
  /** Does nothing for as long as a vendor takes to answer: no CPU, only the time an answer is awaited. */
  async idle(ms: number): Promise<void> {
    if (ms > 0) await sleep(ms);
  },
};
export type ShapeActivities = typeof shapeActivities;

const FAN_OUT_QUEUE = 'bench-bound';

/** CPU seconds spent so far by this process (worker, fakes and bench, every thread) and by the dev server. */
export interface CpuSnapshot {
  worker: number;
  /** Undefined where /proc cannot tell (not Linux, or the server is not this process's child). */
  server: number | undefined;
}

/** USER_HZ, the unit of /proc's CPU times: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The dev server is a child process of whoever started it (the SDK's bridge, in this process); its CPU
 * time comes from /proc, fields 14 and 15 (utime, stime) of its stat line.
 */
function devServerCpuSeconds(): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return undefined; // no /proc: no figure rather than a wrong one
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid) continue;
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('start-dev')) continue;
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
    } catch {
      // A process that exited while the list was read: not the server, which is still running.
    }
  }
  return undefined;
}

export function cpuSnapshot(): CpuSnapshot {
  const { user, system } = process.cpuUsage();
  return { worker: (user + system) / 1e6, server: devServerCpuSeconds() };
}

/** CPU milliseconds per unit of work between two snapshots, as `server … ms, worker … ms`. */
export function cpuPer(before: CpuSnapshot, after: CpuSnapshot, units: number, unit: string): string {
  const ms = (seconds: number) => ((seconds / units) * 1000).toFixed(1);
  const server =
    before.server === undefined || after.server === undefined
      ? 'n/a'
      : `${ms(after.server - before.server)} ms`;
  return `CPU per ${unit}: server ${server}, this process ${ms(after.worker - before.worker)} ms`;
}

export interface FanOutRun {
  rate: number;
  cpu: string;
}

/**
 * Runs `count` children under IngestCycle's fan-out on `env` and returns the rate they completed at. Without
 * shapes the children are trivial (the orchestration bound); with shapes, each runs an idle activity
 * (`activityLatencyMs` long) on each of the given task queues, served by workers in this process.
 */
export async function runFanOut(
  env: TestWorkflowEnvironment,
  options: {
    count: number;
    window: number;
    partitions?: number;
    shapes?: string[][];
    activityLatencyMs?: number;
  },
): Promise<FanOutRun> {
  const { count, window, partitions = 1, shapes, activityLatencyMs = 0 } = options;
  const activityQueues = [...new Set(shapes?.flat() ?? [])];
  const workers = [
    await Worker.create({
      connection: env.nativeConnection,
      taskQueue: FAN_OUT_QUEUE,
      workflowsPath: fileURLToPath(new URL('../workflows/trivial-fan-out.ts', import.meta.url)),
    }),
    ...(await Promise.all(
      activityQueues.map((taskQueue) =>
        Worker.create({ connection: env.nativeConnection, taskQueue, activities: shapeActivities }),
      ),
    )),
  ];
  const input = { count, window, ...(shapes ? { shapes, activityLatencyMs } : {}) };
  const before = cpuSnapshot();
  const started = performance.now();
  const running = workers.map((worker) => worker.run());
  let elapsedS: number;
  let after: CpuSnapshot;
  try {
    await (partitions === 1
      ? env.client.workflow.execute('TrivialFanOut', {
          taskQueue: FAN_OUT_QUEUE,
          workflowId: 'fan-out',
          args: [input],
        })
      : env.client.workflow.execute('TrivialPartitioned', {
          taskQueue: FAN_OUT_QUEUE,
          workflowId: 'fan-out-partitioned',
          args: [{ ...input, partitions }],
        }));
    elapsedS = (performance.now() - started) / 1000;
    after = cpuSnapshot();
  } finally {
    for (const worker of workers) worker.shutdown();
    await Promise.all(running);
  }
  return { rate: count / elapsedS, cpu: cpuPer(before, after, count, 'child') };
}
