import { TestWorkflowEnvironment } from '@temporalio/testing';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WORKFLOW_TYPES, type CycleReport, type IngestCycleInput } from '../../src/shared/messages.js';
import { serverExecutable } from '../../src/temporal/binaries.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';
import { sighting } from '../support/store.js';
import { recordSightings } from '../../src/store/index.js';
import { scoreAndRecord } from '../../src/pipeline/score.js';

// Ageing needs weeks to pass: the time-skipping test server moves the cycles' clock forward on demand.
// Its Java server starts no child whose search attributes it has not registered (and it registers none),
// so the two IOCs are enriched and scored before the first cycle, through the same scoring step an
// EnrichIoc runs; the cycles here then collect, age and deliver them.

describe('decay and expiry over weeks (time-skipping server)', () => {
  let env: TestWorkflowEnvironment;
  let pipeline: Pipeline;
  let cycles = 0;

  const runCycle = async (): Promise<CycleReport> =>
    pipeline.client.workflow.execute<(input: IngestCycleInput) => Promise<CycleReport>>(
      WORKFLOW_TYPES.ingestCycle,
      {
        taskQueue: pipeline.config.temporal.taskQueue,
        workflowId: `decay-cycle-${++cycles}`,
        args: [{}],
      },
    );
  const delivered = () =>
    readFileSync(join(pipeline.dir, 'out.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; value: string; score: number });

  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: serverExecutable('testServer') },
    });
    pipeline = await startPipeline(
      env.address,
      {
        sources: { feed: { type: 'plain', path: 'feed.txt', reliability: 90 } },
        sinks: { out: { type: 'file', path: 'out.jsonl' } },
      },
      // The time-skipping server is this file's own and knows only `default`.
      { namespace: 'default' },
    );
    // One IP (30-day lifetime) and one file hash (365 days), from a source the model trusts at 77.
    const feed = ['45.155.205.233', '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f'];
    writeFileSync(join(pipeline.dir, 'feed.txt'), feed.join('\n') + '\n');
    for (const [type, value] of [
      ['ipv4', feed[0]!],
      ['sha256', feed[1]!],
    ] as const) {
      recordSightings(pipeline.store.db, [sighting(type, value, 'feed', { seenAt: Date.now() })], 'seed');
      scoreAndRecord(pipeline.store.db, pipeline.config, `${type}:${value}`, 'seed', Date.now());
    }
  });

  afterAll(async () => {
    await pipeline?.stop();
    await env?.teardown();
  });

  test('a fresh IOC is delivered at its full score', async () => {
    await runCycle();
    expect(delivered().map((d) => [d.action, d.value, d.score])).toEqual([
      ['upsert', '45.155.205.233', 77],
      ['upsert', '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f', 77],
    ]);
  });

  test('twenty days unseen, the IP has aged below the threshold and is withdrawn once; the hash stays', async () => {
    // The feed stops listing them, so nothing refreshes their last sighting.
    writeFileSync(join(pipeline.dir, 'feed.txt'), '');
    await env.sleep('20 days');
    const report = await runCycle();
    expect(report.progress.decayed).toBe(1);
    const lines = delivered();
    expect(lines.slice(2).map((d) => [d.action, d.value])).toEqual([['withdraw', '45.155.205.233']]);
    // 0.85 × 90 = 76.5 kept at 1 − (20/30)² ≈ 0.556 gives 42.5; the cycle runs a few seconds after day 20.
    expect(lines.at(-1)!.score).toBeGreaterThanOrEqual(41);
    expect(lines.at(-1)!.score).toBeLessThanOrEqual(43);
    const hash = pipeline.store.sqlite.prepare("select score from iocs where type = 'sha256'").get() as {
      score: number;
    };
    expect(hash.score).toBe(77);
  });

  test('past its lifetime the IP expires at 0 without a second withdrawal', async () => {
    await env.sleep('11 days');
    const report = await runCycle();
    expect(report.progress).toMatchObject({ decayed: 1, expired: 1 });
    expect(delivered().filter((d) => d.action === 'withdraw')).toHaveLength(1);
    const ip = pipeline.store.sqlite.prepare("select score from iocs where type = 'ipv4'").get() as {
      score: number;
    };
    expect(ip.score).toBe(0);
  });
});
