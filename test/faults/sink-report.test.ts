import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { CycleReport } from '../../src/shared/messages.js';
import { startSplunkHecFake, type HecFake } from '../fakes/splunk-hec.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';
import { generateFeed } from './support/scenario.js';

// No vendors: every IOC scores from its one source, so the cycle is quick and all of it is delivery.
const FEED = generateFeed('report', 46, 99);
const BATCH = 10;

describe('a delivery retried mid-outbox', () => {
  let pipeline: Pipeline;
  let hec: HecFake;
  let report: CycleReport;

  beforeAll(async () => {
    hec = await startSplunkHecFake({ tokens: { 'hec-report-token': {} } });
    pipeline = await startPipeline(inject('temporalAddress'), {
      sources: { feed: { type: 'plain', path: 'feed.txt', reliability: 80 } },
      sinks: {
        splunk: {
          type: 'splunk-hec',
          url: hec.url,
          token: 'hec-report-token',
          threshold: 0,
          batchSize: BATCH,
        },
      },
    });
    writeFileSync(join(pipeline.dir, 'feed.txt'), FEED.join('\n') + '\n');
    // The first attempt settles three batches and fails on the fourth; the retry sends the other seven.
    hec.failPosts.add(4);
    report = await pipeline.runCycle();
  });

  afterAll(async () => {
    await pipeline?.stop();
    await hec?.close();
  });

  test("the cycle's sink report counts every attempt's deliveries, as the ledger does", () => {
    const ledger = pipeline.store.sqlite
      .prepare("select count(*) as n from deliveries where sink = 'splunk' and outcome = 'delivered'")
      .get() as { n: number };
    expect(ledger.n).toBe(FEED.length);
    expect(hec.posts).toBe(Math.ceil(FEED.length / BATCH) + 1);
    expect(hec.deliveryIds().size).toBe(FEED.length);
    expect(report.sinks).toEqual([
      expect.objectContaining({ sink: 'splunk', delivered: FEED.length, rejected: 0, pending: 0 }),
    ]);
    // Batches (requests, the failed one too) go on from the last heartbeat that reached the server: at
    // least the retry's seven, at most every post the collector saw.
    expect(report.sinks[0]!.batches).toBeGreaterThanOrEqual(Math.ceil((FEED.length - 3 * BATCH) / BATCH));
    expect(report.sinks[0]!.batches).toBeLessThanOrEqual(hec.posts);
  });
});
