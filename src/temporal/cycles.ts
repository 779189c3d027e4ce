import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config/index.js';
import { WORKFLOW_TYPES, type CycleReport, type IngestCycleInput } from '../shared/messages.js';

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
      workflowId: `${config.schedule.id}-manual-${now.toISOString().replace(/\.\d{3}Z$/, 'Z')}`,
      args: [{}],
    },
  );
}

/** Web UI page of a workflow execution. */
export function webUiLink(config: Config, workflowId: string, runId?: string): string {
  const base = `${config.temporal.webUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(config.temporal.namespace)}`;
  return `${base}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}/history` : ''}`;
}
