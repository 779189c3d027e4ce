import { WorkflowIdReusePolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/index.js';
import {
  progressQuery,
  WORKFLOW_TYPES,
  type CycleProgress,
  type CycleReport,
  type IngestCycleInput,
} from '../shared/messages.js';

export class CycleAlreadyRunningError extends Error {
  constructor(readonly workflowId: string) {
    super(`a cycle is already running (${workflowId}); wait for it to finish, or follow it in the Web UI`);
    this.name = 'CycleAlreadyRunningError';
  }
}

/** The running IngestCycle on this task queue, if any. */
export async function runningCycle(client: Client, config: Config): Promise<string | undefined> {
  const query =
    `WorkflowType = '${WORKFLOW_TYPES.ingestCycle}' AND ExecutionStatus = 'Running' ` +
    `AND TaskQueue = '${config.temporal.taskQueue}'`;
  for await (const execution of client.workflow.list({ query, pageSize: 1 })) return execution.workflowId;
  return undefined;
}

/**
 * Starts one cycle now, refusing when one is already running: two cycles at once would enrich and
 * deliver the same IOCs twice over.
 */
export async function startCycleNow(
  client: Client,
  config: Config,
  now: Date = new Date(),
): Promise<WorkflowHandle<(input: IngestCycleInput) => Promise<CycleReport>>> {
  const running = await runningCycle(client, config);
  if (running) throw new CycleAlreadyRunningError(running);
  return client.workflow.start<(input: IngestCycleInput) => Promise<CycleReport>>(
    WORKFLOW_TYPES.ingestCycle,
    {
      taskQueue: config.temporal.taskQueue,
      // The cycle's ID keys its rows in the store (work list, sightings, ledger): never reused, and precise
      // to the millisecond, since cycles over a small feed can follow each other within a second.
      workflowId: `${config.schedule.id}-manual-${now.toISOString()}`,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      args: [{}],
    },
  );
}

/**
 * A running cycle's live progress, through its `progress` query; undefined when no worker answers in
 * time (all workers down, or the cycle just finished), so a listing never hangs on one cycle.
 */
export async function cycleProgress(
  client: Client,
  workflowId: string,
  timeoutMs = 3000,
): Promise<CycleProgress | undefined> {
  try {
    return await client.withDeadline(Date.now() + timeoutMs, () =>
      client.workflow.getHandle(workflowId).query(progressQuery),
    );
  } catch {
    return undefined;
  }
}

/**
 * Follows a cycle to its end (across continue-as-new), reporting its progress every `intervalMs`
 * while it runs; resolves with its report, or rejects as the cycle fails.
 */
export async function followCycle(
  client: Client,
  workflowId: string,
  onProgress: (progress: CycleProgress) => void,
  intervalMs = 1000,
): Promise<CycleReport> {
  const result = client.workflow.getHandle<() => Promise<CycleReport>>(workflowId).result();
  let finished = false;
  // Settling is observed here; the caller gets the outcome (or the failure) from `result` below.
  const settled = result.then(
    () => (finished = true),
    () => (finished = true),
  );
  while (!finished) {
    const progress = await cycleProgress(client, workflowId);
    if (progress && !finished) onProgress(progress);
    const tick = new AbortController();
    await Promise.race([
      settled,
      sleep(intervalMs, undefined, { signal: tick.signal }).catch(() => undefined),
    ]);
    tick.abort();
  }
  return result;
}

/** Web UI page of a workflow execution. */
export function webUiLink(config: Config, workflowId: string, runId?: string): string {
  const base = `${config.temporal.webUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(config.temporal.namespace)}`;
  return `${base}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}/history` : ''}`;
}
