import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { progressQuery } from '../../src/shared/messages.js';
import { CycleAlreadyRunningError, startCycleNow } from '../../src/temporal/cycles.js';
import { startFileFake, type FileFake } from '../fakes/files.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';

describe('two cycles never run at once', () => {
  let files: FileFake;
  let pipeline: Pipeline;

  beforeAll(async () => {
    files = await startFileFake();
    files.put(
      '/feed.txt',
      Array.from({ length: 40 }, (_, i) => `overlap-${i}.example.top`).join('\n') + '\n',
    );
    // A slow feed keeps the first cycle in its collect step while the second start is tried.
    files.faults.trickle = { chunkBytes: 64, delayMs: 100 };
    pipeline = await startPipeline(inject('temporalAddress'), {
      sources: { feed: { type: 'plain', url: `${files.url}/feed.txt` } },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await files?.close();
  });

  test('a manual start while a cycle runs is refused, naming the running cycle', async () => {
    const first = await startCycleNow(pipeline.client, pipeline.config);
    expect((await first.query(progressQuery)).stage).toBe('collecting');
    const second = startCycleNow(pipeline.client, pipeline.config, new Date(Date.now() + 1000));
    await expect(second).rejects.toBeInstanceOf(CycleAlreadyRunningError);
    await expect(second).rejects.toMatchObject({ workflowId: first.workflowId });
    const report = await first.result();
    expect(report.sources[0]).toMatchObject({ status: 'ok', entries: 40 });
    // Once it finished, the next start is accepted.
    const third = await startCycleNow(pipeline.client, pipeline.config, new Date(Date.now() + 2000));
    await third.result();
  });
});
