// Workflow interceptors, bundled into the workflow code (Worker `interceptors.workflowModules`): the same
// rules as workflows/ apply, so this imports only @temporalio/workflow and @temporalio/common.
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { CYCLE_HEADER } from './cycle-header.js';

/**
 * Hands the workflow's cycle ID (an EnrichIoc started by a cycle has it in its input) to every activity
 * it schedules, as a header, for the activity's log lines. The factory runs once per workflow
 * execution, so the closure is that execution's own.
 */
export const interceptors: WorkflowInterceptorsFactory = () => {
  let cycleId: string | undefined;
  return {
    inbound: [
      {
        async execute(input, next) {
          cycleId = cycleIdOf(input.args[0]);
          return next(input);
        },
      },
    ],
    outbound: [
      {
        async scheduleActivity(input, next) {
          if (cycleId === undefined) return next(input);
          const headers = { ...input.headers, [CYCLE_HEADER]: defaultPayloadConverter.toPayload(cycleId) };
          return next({ ...input, headers });
        },
      },
    ],
  };
};

function cycleIdOf(arg: unknown): string | undefined {
  if (typeof arg !== 'object' || arg === null || !('cycleId' in arg)) return undefined;
  return typeof arg.cycleId === 'string' ? arg.cycleId : undefined;
}
