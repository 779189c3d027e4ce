import {
  condition,
  continueAsNew,
  ParentClosePolicy,
  proxyActivities,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { ShapeActivities } from '../support/fan-out.js';

/** The cheapest child a workflow can have: one workflow task, no activity. */
export async function TrivialChild(): Promise<void> {}

/**
 * EnrichIoc's traffic with none of its work: one idle activity on each of these task queues, all at once,
 * each as long as a vendor's answer. What the server and the SDK cost for the shape the design asks for (a
 * task queue per vendor). The latency matters: answers that arrive apart wake the workflow apart, each a
 * workflow task of its own.
 */
export async function ShapedChild(taskQueues: string[], latencyMs: number): Promise<void> {
  await Promise.all(
    taskQueues.map((taskQueue) =>
      proxyActivities<ShapeActivities>({ taskQueue, startToCloseTimeout: '1 minute' }).idle(latencyMs),
    ),
  );
}

export interface TrivialFanOutInput {
  count: number;
  window: number;
  next?: number;
  /** Child i runs ShapedChild(shapes[i % shapes.length]); without shapes, every child is TrivialChild. */
  shapes?: string[][];
  activityLatencyMs?: number;
}

/**
 * The orchestration bound: IngestCycle's fan-out shape (bounded window, ABANDON children, continue-as-new
 * on the server's suggestion) with children that do nothing, so the rate it reaches is the server's.
 */
export async function TrivialFanOut(input: TrivialFanOutInput): Promise<number> {
  const running = new Set<Promise<void>>();
  const prefix = workflowInfo().workflowId;
  for (let i = input.next ?? 0; i < input.count; i++) {
    await condition(() => running.size < input.window);
    const options = { workflowId: `${prefix}-${i}`, parentClosePolicy: ParentClosePolicy.ABANDON };
    const shape = input.shapes?.[i % input.shapes.length];
    const child = (
      shape
        ? startChild(ShapedChild, { ...options, args: [shape, input.activityLatencyMs ?? 0] })
        : startChild(TrivialChild, options)
    )
      .then((handle) => handle.result())
      .finally(() => running.delete(child));
    running.add(child);
    if (workflowInfo().continueAsNewSuggested) {
      await Promise.all(running);
      await continueAsNew<typeof TrivialFanOut>({ ...input, next: i + 1 });
    }
  }
  await Promise.all(running);
  return input.count;
}

/**
 * The same fan-out split over intermediate batch workflows: `partitions` TrivialFanOut children, each
 * with its share of the children and of the window. What grouping would buy on this server.
 */
export async function TrivialPartitioned(
  input: TrivialFanOutInput & { partitions: number },
): Promise<number> {
  const prefix = workflowInfo().workflowId;
  const share = Math.ceil(input.count / input.partitions);
  await Promise.all(
    Array.from({ length: input.partitions }, (_, p) =>
      startChild(TrivialFanOut, {
        workflowId: `${prefix}-part-${p}`,
        args: [
          {
            count: Math.min(share, input.count - p * share),
            window: Math.ceil(input.window / input.partitions),
            ...(input.shapes ? { shapes: input.shapes, activityLatencyMs: input.activityLatencyMs } : {}),
          },
        ],
      }).then((handle) => handle.result()),
    ),
  );
  return input.count;
}
