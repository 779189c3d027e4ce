import { Client, Connection } from '@temporalio/client';
import { randomInt, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { stringify } from 'yaml';
import type { CycleSummary } from '../../src/cli/cycles.js';
import { findCycle, openStore } from '../../src/store/index.js';
import type { ScheduleSummary } from '../../src/temporal/schedule.js';
import { startCycleNow } from '../../src/temporal/cycles.js';
import { startFileFake, type FileFake } from '../fakes/files.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';
import { seed, sighting } from '../support/store.js';
import { iocflow } from './run.js';

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(100);
  }
}

describe('cycles and run-once against a real cycle', () => {
  let feed: FileFake;
  let pipeline: Pipeline;
  let file: string;
  const env = () => ({ TEMPORAL_ADDRESS: inject('temporalAddress') });

  beforeAll(async () => {
    feed = await startFileFake();
    feed.put('/feed.txt', '91.92.109.43\n45.61.49.78\nnot an ioc\n');
    pipeline = await startPipeline(inject('temporalAddress'), {
      sources: { slow: { type: 'plain', url: `${feed.url}/feed.txt`, reliability: 85, tags: ['c2'] } },
      sinks: { out: { type: 'file', path: 'out.jsonl' } },
    });
    file = join(pipeline.dir, 'config.yaml');
  });

  afterAll(async () => {
    await pipeline?.stop();
    await feed?.close();
  });

  test('a running cycle shows its live stage; run-once refuses with exit 3; --watch follows it to its statistics', async () => {
    // The source answers slowly, so the cycle stays in its collect step while the commands look at it.
    feed.faults.delayMs = 20_000;
    const handle = await startCycleNow(pipeline.client, pipeline.config);
    await until(() => findCycle(pipeline.store.db, handle.workflowId) !== undefined);

    const watching = iocflow(['cycles', '--watch', '--json', '-c', file], { env: env() });
    const [listed, busy] = await Promise.all([
      iocflow(['cycles', '--json', '-c', file], { env: env() }),
      iocflow(['run-once', '-c', file], { env: env() }),
    ]);
    expect(listed.code).toBe(0);
    const running = (JSON.parse(listed.stdout) as CycleSummary[])[0]!;
    expect(running).toMatchObject({
      id: handle.workflowId,
      status: 'running',
      stage: 'collecting',
      finishedAt: null,
      sources: null,
      enrichment: { planned: 0, completed: 0, failed: 0 },
      delivered: null,
    });

    expect(busy.code).toBe(3);
    expect(busy.stderr).toContain(`a cycle is already running (${handle.workflowId})`);
    expect(busy.stdout).toBe('');

    const report = await handle.result();
    feed.faults.delayMs = undefined;
    const watched = await watching;
    expect(watched.code).toBe(0);
    expect(watched.stderr).toContain(`following cycle ${handle.workflowId}`);
    const summary = JSON.parse(watched.stdout) as CycleSummary;
    expect(summary).toMatchObject({ id: handle.workflowId, status: 'finished' });

    const after = await iocflow(['cycles', '--json', '--limit', '5', '-c', file], { env: env() });
    expect(after.code).toBe(0);
    const [finished] = JSON.parse(after.stdout) as CycleSummary[];
    expect(finished).toEqual(summary);
    expect(finished).toMatchObject({
      id: report.cycleId,
      status: 'finished',
      stage: null,
      sources: { collected: 3, new: 2, rejected: 1, failed: [] },
      enrichment: {
        planned: report.progress.planned,
        completed: report.progress.completed,
        failed: 0,
      },
      delivered: { out: report.sinks[0]!.delivered },
      sinksFailed: [],
    });
    expect(report.sinks[0]!.delivered).toBe(2);
    expect(finished!.durationSeconds).toBeGreaterThanOrEqual(15);

    const table = await iocflow(['cycles', '-c', file], { env: env() });
    expect(table.stdout).toMatch(/^CYCLE\s+STATUS\s+STARTED/);
    expect(table.stdout).toContain(`${report.cycleId}  finished`);
    expect(table.stdout).toContain('out 2');
  }, 120_000);

  test('run-once exits 5 when the cycle finished but a source failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iocflow-cli-'));
    const id = randomUUID().slice(0, 8);
    const failing = join(dir, 'config.yaml');
    writeFileSync(
      failing,
      stringify({
        temporal: { taskQueue: `run-once-${id}` },
        store: { path: 'iocflow.db' },
        schedule: { id: `run-once-${id}` },
        sources: {
          gone: { type: 'plain', path: 'no-such-feed.txt' },
          fine: { type: 'plain', url: `${feed.url}/feed.txt` },
        },
        sinks: { out: { type: 'file', path: 'out.jsonl' } },
      }),
    );
    const result = await iocflow(['run-once', '-c', failing], { env: env() });
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('the cycle finished, but source gone failed');
    const report = JSON.parse(result.stdout) as { sources: { source: string; status: string }[] };
    expect(report.sources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ source: 'gone', status: 'failed' }),
        expect.objectContaining({ source: 'fine', status: 'ok' }),
      ]),
    );
  }, 120_000);

  test('cycles --watch exits 4 when no cycle is running', async () => {
    const result = await iocflow(['cycles', '--watch', '-c', file], { env: env() });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('no cycle is running');
  });
});

describe('schedule and reenrich against the dev server', () => {
  let client: Client;
  let connection: Connection;
  let file: string;
  const id = randomUUID().slice(0, 8);
  const scheduleId = `test-sched-${id}`;
  const taskQueue = `test-noworker-${id}`;
  const env = () => ({ TEMPORAL_ADDRESS: inject('temporalAddress') });
  const cli = (...args: string[]) => iocflow([...args, '-c', file], { env: env() });

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iocflow-cli-'));
    file = join(dir, 'config.yaml');
    // No worker polls this task queue: whatever the schedule starts stays running, which makes overlap visible.
    writeFileSync(
      file,
      stringify({
        temporal: { address: inject('temporalAddress'), taskQueue },
        store: { path: 'iocflow.db' },
        schedule: { id: scheduleId, every: '1h', catchupWindow: '10m' },
        sources: {},
        sinks: {},
      }),
    );
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection });
  });

  afterAll(async () => {
    for await (const w of client.workflow.list({
      query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`,
    }))
      await client.workflow.getHandle(w.workflowId).terminate('test over');
    await client.schedule
      .getHandle(scheduleId)
      .delete()
      .catch(() => undefined);
    await connection.close();
  });

  test('before apply, every schedule command exits 4 and says to run schedule apply', async () => {
    for (const args of [
      ['schedule', 'describe', '--json'],
      ['schedule', 'pause'],
      ['schedule', 'trigger'],
    ]) {
      const result = await cli(...args);
      expect(result.code, args.join(' ')).toBe(4);
      expect(result.stderr).toContain(
        `schedule ${scheduleId} does not exist: run \`iocflow schedule apply\``,
      );
    }
  });

  test('pause and unpause show in describe with their note; backfill starts a cycle, or skips under overlap skip', async () => {
    expect(JSON.parse((await cli('schedule', 'apply', '--json')).stdout)).toEqual({
      id: scheduleId,
      outcome: 'created',
    });

    const paused = await cli('schedule', 'pause', '--note', 'feed maintenance', '--json');
    expect(paused.code).toBe(0);
    expect(JSON.parse(paused.stdout)).toEqual({ id: scheduleId, paused: true, note: 'feed maintenance' });
    const described = JSON.parse((await cli('schedule', 'describe', '--json')).stdout) as ScheduleSummary;
    expect(described).toMatchObject({
      id: scheduleId,
      paused: true,
      note: 'feed maintenance',
      every: ['3600s'],
    });

    const unpaused = await cli('schedule', 'unpause', '--json');
    expect(JSON.parse(unpaused.stdout)).toMatchObject({ id: scheduleId, paused: false });
    expect(JSON.parse((await cli('schedule', 'describe', '--json')).stdout)).toMatchObject({ paused: false });
    expect((await cli('schedule', 'describe')).stdout).toContain('paused: false');

    // Windows of one hourly tick each, edges off the hour: [at - 30m, at + 30m] holds only `at`.
    const hour = 3_600_000;
    const at = Math.floor(Date.now() / hour) * hour - 3 * hour;
    const iso = (ms: number) => new Date(ms).toISOString();
    const backfill = async (tick: number, ...args: string[]) => {
      const result = await cli(
        'schedule',
        'backfill',
        '--from',
        iso(tick - hour / 2),
        '--to',
        iso(tick + hour / 2),
        '--json',
        ...args,
      );
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as {
        ticks: number;
        started: string[];
        skipped: number;
        pending: number;
      };
    };
    const first = await backfill(at);
    expect(first).toEqual({
      id: scheduleId,
      ticks: 1,
      started: [`${scheduleId}-run-${iso(at).replace('.000Z', 'Z')}`],
      skipped: 0,
      pending: 0,
    });
    const description = await client.workflow.getHandle(first.started[0]!).describe();
    expect(description.status.name).toBe('RUNNING');
    expect(JSON.parse((await cli('schedule', 'describe', '--json')).stdout)).toMatchObject({
      running: first.started,
    });

    // That cycle still runs (no worker), so under overlap skip the next tick is skipped; allow_all starts it anyway.
    expect(await backfill(at + hour, '--overlap', 'skip')).toEqual({
      id: scheduleId,
      ticks: 1,
      started: [],
      skipped: 1,
      pending: 0,
    });
    const allowed = await backfill(at + hour, '--overlap', 'allow_all');
    expect(allowed).toMatchObject({ ticks: 1, skipped: 0, pending: 0 });
    expect(allowed.started).toEqual([`${scheduleId}-run-${iso(at + hour).replace('.000Z', 'Z')}`]);

    const crossed = await cli('schedule', 'backfill', '--from', iso(at), '--to', iso(at - hour));
    expect(crossed.code).toBe(2);
    const badDate = await cli('schedule', 'backfill', '--from', 'yesterday', '--to', iso(at));
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('ISO 8601');
  }, 120_000);

  test('reenrich --json names the IOC and its workflow; a defanged IOC is fine; one not in the store is exit 4', async () => {
    const ip = `91.92.${randomInt(1, 254)}.${randomInt(1, 254)}`;
    const store = openStore(join(dirname(file), 'iocflow.db'));
    seed(store, [sighting('ipv4', ip, 'feed')]);
    store.close();
    const unknown = await cli('reenrich', '203.0.113.250');
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('ipv4:203.0.113.250 is not in the store');
    const result = await cli('reenrich', ip.replace(/\./g, '[.]'), '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ key: `ipv4:${ip}`, workflowId: `ioc:ipv4:${ip}` });
    const human = await cli('reenrich', ip);
    expect(human.stdout).toBe(`ipv4:${ip}: re-enrichment requested (ioc:ipv4:${ip})\n`);
  });
});
