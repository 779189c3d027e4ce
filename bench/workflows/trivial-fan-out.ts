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
