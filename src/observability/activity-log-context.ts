import { defaultPayloadConverter } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { CYCLE_HEADER } from './cycle-header.js';

/** The workflow interceptor module that puts the cycle ID on activity headers (for `workflowModules`). */
export const WORKFLOW_LOG_CONTEXT_MODULE = fileURLToPath(
  new URL('./workflow-log-context.ts', import.meta.url),
);

/** What an activity's log lines say about the pipeline, beside the SDK's workflow/run IDs, type and attempt. */
export interface ActivityLogContext {
  iocKey?: string;
  cycleId?: string;
  source?: string;
  sink?: string;
}

/**
 * Adds the IOC key, cycle ID, source and sink an activity works on (read from its input, the cycle ID
 * also from the header the workflow interceptor sets) to every line its context logger and the SDK's
 * lifecycle messages for it write. Activities then log with one plain `log.info(...)`.
 */
export const activityLogContext: ActivityInterceptorsFactory = () => {
  let context: ActivityLogContext = {};
  return {
    inbound: {
      async execute(input, next) {
        const header = input.headers[CYCLE_HEADER];
        context = contextOf(input.args[0], header ? defaultPayloadConverter.fromPayload(header) : undefined);
        return next(input);
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        return { ...next(input), ...context };
      },
    },
  };
};

/** The context fields of an activity input: `key`, `cycleId` (or `report.cycleId`), `source`, `sink`. */
export function contextOf(arg: unknown, headerCycleId?: unknown): ActivityLogContext {
  const input = typeof arg === 'object' && arg !== null ? (arg as Record<string, unknown>) : {};
  const report = typeof input.report === 'object' && input.report !== null ? input.report : {};
  const cycleId = [input.cycleId, (report as Record<string, unknown>).cycleId, headerCycleId].find(
    (v): v is string => typeof v === 'string',
  );
  const out: ActivityLogContext = {};
  if (typeof input.key === 'string') out.iocKey = input.key;
  if (cycleId !== undefined) out.cycleId = cycleId;
  if (typeof input.source === 'string') out.source = input.source;
  if (typeof input.sink === 'string') out.sink = input.sink;
  return out;
}
