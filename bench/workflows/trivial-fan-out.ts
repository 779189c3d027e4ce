import { condition, continueAsNew, ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';

/** The cheapest child a workflow can have: one workflow task, no activity. */
export async function TrivialChild(): Promise<void> {}

export interface TrivialFanOutInput {
  count: number;
  window: number;
  next?: number;
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
    const child = startChild(TrivialChild, {
      workflowId: `${prefix}-${i}`,
      parentClosePolicy: ParentClosePolicy.ABANDON,
    })
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
          },
        ],
      }).then((handle) => handle.result()),
    ),
  );
  return input.count;
}
