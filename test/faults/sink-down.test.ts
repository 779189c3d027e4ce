import { TestWorkflowEnvironment } from '@temporalio/testing';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { scoreAndRecord } from '../../src/pipeline/score.js';
import { WORKFLOW_TYPES, type CycleReport, type IngestCycleInput } from '../../src/shared/messages.js';
import { recordSightings } from '../../src/store/index.js';
import { serverExecutable } from '../../src/temporal/binaries.js';
import { startSplunkHecFake, type HecFake } from '../fakes/splunk-hec.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';
import { sighting } from '../support/store.js';

// The delivery activity retries 8 times, up to a minute apart: the time-skipping test server skips the
// backoff. Its Java server starts no child with unregistered search attributes, so the IOCs are scored
// before the first cycle, through the step an EnrichIoc runs (as test/scoring/decay.test.ts does); the
// cycles here collect, plan nothing new, and deliver.

const IOCS = Array.from({ length: 45 }, (_, i) => `47.10.${i >> 8}.${(i & 255) + 1}`);
const BATCH = 10;
const DELIVERY_ATTEMPTS = 8;

describe('a sink down for a whole cycle (time-skipping server)', () => {
  let env: TestWorkflowEnvironment;
  let pipeline: Pipeline;
  let hec: HecFake;
  let first: CycleReport;
  let second: CycleReport;
  let postsWhileDown = 0;
  let eventsWhileDown = 0;
  let pendingWhileDown = 0;

  const runCycle = (n: number) =>
    env.client.workflow.execute<(input: IngestCycleInput) => Promise<CycleReport>>(
      WORKFLOW_TYPES.ingestCycle,
      { taskQueue: pipeline.config.temporal.taskQueue, workflowId: `sink-down-cycle-${n}`, args: [{}] },
    );
  const ledger = (sink: string) =>
    pipeline.store.sqlite
      .prepare(
        'select cycle_id as cycle, outcome, count(*) as n from deliveries where sink = ? group by 1, 2 order by 1, 2',
      )
      .all(sink);
  const pending = (sink: string) =>
    (
      pipeline.store.sqlite
        .prepare(
          'select count(*) as n from outbox where sink = ? and id not in (select outbox_id from deliveries)',
        )
        .get(sink) as { n: number }
    ).n;

  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: serverExecutable('testServer') },
    });
    hec = await startSplunkHecFake({ tokens: { 'hec-down-token': {} } });
    pipeline = await startPipeline(
      env.address,
      {
        sources: { feed: { type: 'plain', path: 'feed.txt', reliability: 90 } },
        // While the first cycle's delivery backs off, the test server moves its clock on by years (about ten,
        // measured): with the default 30-day lifetime the second cycle would expire and re-send every IOC.
        // Ageing is not what this tests, so the IPs live long enough not to move.
        scoring: { lifetimes: { ipv4: '36500d' } },
        sinks: {
          splunk: {
            type: 'splunk-hec',
            url: hec.url,
            token: 'hec-down-token',
            threshold: 0,
            batchSize: BATCH,
          },
          archive: { type: 'file', path: 'out.jsonl', threshold: 0 },
        },
      },
      // The time-skipping server is this file's own and knows only `default`.
      { namespace: 'default' },
    );
    writeFileSync(join(pipeline.dir, 'feed.txt'), IOCS.join('\n') + '\n');
    for (const ip of IOCS) {
      recordSightings(pipeline.store.db, [sighting('ipv4', ip, 'feed', { seenAt: Date.now() })], 'seed');
      scoreAndRecord(pipeline.store.db, pipeline.config, `ipv4:${ip}`, 'seed', Date.now());
    }

    // The collector is down for every attempt of the first cycle's delivery.
    hec.faults.status = 503;
    first = await runCycle(1);
    postsWhileDown = hec.posts;
    eventsWhileDown = hec.events.length;
    pendingWhileDown = pending('splunk');
    hec.faults.status = undefined;
    second = await runCycle(2);
  }, 110_000);

  afterAll(async () => {
    await pipeline?.stop();
    await hec?.close();
    await env?.teardown();
  });

  test('the cycle with the sink down completes, reports the sink failed and keeps its whole outbox', () => {
    const bySink = Object.fromEntries(first.sinks.map((s) => [s.sink, s]));
    expect(bySink.splunk).toMatchObject({ delivered: 0, pending: -1 });
    expect(bySink.splunk!.error).toMatch(/Splunk|HEC|503/);
    // Every attempt reached the collector once and was refused; nothing was marked.
    expect(postsWhileDown).toBe(DELIVERY_ATTEMPTS);
    expect(eventsWhileDown).toBe(0);
    expect(pendingWhileDown).toBe(IOCS.length);
    // The other sink is not held up by the failed one.
    expect(bySink.archive).toMatchObject({ delivered: IOCS.length, pending: 0 });
  });

  test('the next cycle, with the sink back, delivers the kept outbox in full, once', () => {
    const bySink = Object.fromEntries(second.sinks.map((s) => [s.sink, s]));
    expect(bySink.splunk).toMatchObject({ delivered: IOCS.length, rejected: 0, pending: 0 });
    expect(bySink.splunk!.error).toBeUndefined();
    expect(hec.posts - postsWhileDown).toBe(Math.ceil(IOCS.length / BATCH));
    expect(hec.events).toHaveLength(IOCS.length);
    expect([...hec.deliveryIds()].map((id) => id.split('|')[0]).sort()).toEqual(
      IOCS.map((ip) => `ipv4:${ip}`).sort(),
    );
    expect(ledger('splunk')).toEqual([{ cycle: second.cycleId, outcome: 'delivered', n: IOCS.length }]);
    expect(pending('splunk')).toBe(0);
    // The archive had everything already: nothing twice.
    expect(bySink.archive).toMatchObject({ delivered: 0, pending: 0 });
    expect(readFileSync(join(pipeline.dir, 'out.jsonl'), 'utf8').trim().split('\n')).toHaveLength(
      IOCS.length,
    );
  });
});
