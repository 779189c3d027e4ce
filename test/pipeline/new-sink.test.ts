import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, test } from 'vitest';
import { copySampleFeeds, SAMPLE_SOURCES, startPipeline, type Pipeline } from '../support/pipeline.js';

const lines = (dir: string, file: string) =>
  existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8').trim().split('\n') : [];

describe('a sink added to a deployment that has run before', () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.stop();
    pipeline = undefined;
  });

  test('receives the current high-confidence set in the next cycle, though nothing was re-scored', async () => {
    const address = inject('temporalAddress');
    pipeline = await startPipeline(address, {
      sources: SAMPLE_SOURCES,
      sinks: { first: { type: 'file', path: 'first.jsonl' } },
    });
    const { dir } = pipeline;
    copySampleFeeds(dir);
    const firstCycle = await pipeline.runCycle();
    const delivered = firstCycle.sinks.find((s) => s.sink === 'first')!.delivered;
    expect(delivered).toBeGreaterThan(0);
    await pipeline.stop();

    pipeline = await startPipeline(
      address,
      {
        sources: SAMPLE_SOURCES,
        sinks: {
          first: { type: 'file', path: 'first.jsonl' },
          second: { type: 'file', path: 'second.jsonl' },
        },
      },
      { dir },
    );
    const secondCycle = await pipeline.runCycle();
    expect(secondCycle.progress.planned).toBe(0);
    expect(secondCycle.sinks.find((s) => s.sink === 'first')).toMatchObject({ delivered: 0 });
    expect(secondCycle.sinks.find((s) => s.sink === 'second')).toMatchObject({ delivered, pending: 0 });
    const keys = (file: string) => lines(dir, file).map((l) => (JSON.parse(l) as { key: string }).key);
    expect(keys('second.jsonl').sort()).toEqual(keys('first.jsonl').sort());
  }, 120_000);
});
