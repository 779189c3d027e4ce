import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { startSentinelFake, type SentinelFake } from '../fakes/sentinel.js';
import { copySampleFeeds, SAMPLE_SOURCES, startPipeline, type Pipeline } from '../support/pipeline.js';

const WORKSPACE = '3f1c2d4e-0000-4000-8000-000000000001';

// The sample feeds' 16 IOCs at or above 70 fit one upload.
const AT_THRESHOLD = 16;

describe('a Sentinel 429 under Temporal', () => {
  let pipeline: Pipeline;
  let sentinel: SentinelFake;

  beforeAll(async () => {
    sentinel = await startSentinelFake({
      tenantId: 't1',
      clients: { app: 'app-secret' },
      workspaceId: WORKSPACE,
    });
    pipeline = await startPipeline(inject('temporalAddress'), {
      sources: SAMPLE_SOURCES,
      sinks: {
        sentinel: sentinel.sinkConfig('app'),
      },
    });
    copySampleFeeds(pipeline.dir);
  });

  afterAll(async () => {
    await pipeline?.stop();
    await sentinel?.close();
  });

  test('the deliver activity is retried after the Retry-After delay, not sooner and not a minute later', async () => {
    // The message names no wait, so without the header the retry would wait a whole rate window (60 s).
    sentinel.script({
      status: 429,
      headers: { 'retry-after': '3' },
      body: { statusCode: 429, message: 'Rate limit is exceeded.' },
    });
    const report = await pipeline.runCycle();
    expect(report.sinks).toEqual([
      expect.objectContaining({ sink: 'sentinel', delivered: AT_THRESHOLD, pending: 0 }),
    ]);
    const uploads = sentinel.requests.filter((r) => r.path.endsWith(':upload'));
    expect(uploads.map((r) => r.status)).toEqual([429, 200]);
    const waited = uploads[1]!.at - uploads[0]!.answeredAt!;
    expect(waited).toBeGreaterThanOrEqual(3_000);
    expect(waited).toBeLessThan(15_000);
  }, 60_000);
});
