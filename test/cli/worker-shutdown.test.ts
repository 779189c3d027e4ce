import { Client, Connection } from '@temporalio/client';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { stringify } from 'yaml';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { startCycleNow } from '../../src/temporal/cycles.js';
import { startFakeServer, type FakeServer } from '../fakes/server.js';

const BIN = join(PROJECT_ROOT, 'bin', 'iocflow.js');
/** How long the feed takes to answer: the collect activity is in flight that long. */
const FEED_DELAY_MS = 3000;
const GRACE_S = 15;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `iocflow <command> -c <config>` against the test server, its stderr collected as it comes. */
function startIocflow(command: string, config: string, address: string) {
  const child = spawn(process.execPath, [BIN, command, '-c', config], {
    env: { ...process.env, TEMPORAL_ADDRESS: address, IOCFLOW_CONFIG: '', IOCFLOW_LOG_LEVEL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = {
    child,
    stderr: '',
    exited: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>,
  };
  child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
  return run;
}

describe('iocflow worker', () => {
  let feed: FakeServer | undefined;
  let connection: Connection | undefined;
  afterAll(async () => {
    await connection?.close();
    await feed?.close();
  });

  test('SIGTERM lets the in-flight activity finish, then exits 0 within the grace time; both metrics endpoints serve while it runs', async () => {
    const address = inject('temporalAddress');
    feed = await startFakeServer(async (_req, res) => {
      await new Promise((r) => setTimeout(r, FEED_DELAY_MS));
      res.writeHead(200, { 'content-type': 'text/plain' }).end('185.220.101.47\n45.155.205.233\n');
    });
    const [metricsPort, temporalPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'iocflow-worker-'));
    const id = randomUUID().slice(0, 8);
    writeFileSync(
      join(dir, 'config.yaml'),
      stringify({
        temporal: { taskQueue: `shutdown-${id}`, shutdownGraceTime: `${GRACE_S}s` },
        store: { path: 'iocflow.db' },
        schedule: { id: `shutdown-${id}` },
        logging: { level: 'info' },
        metrics: { listen: `127.0.0.1:${metricsPort}`, temporalListen: `127.0.0.1:${temporalPort}` },
        sources: { slow: { type: 'plain', url: `${feed.url}/feed.txt` } },
        sinks: { out: { type: 'file', path: 'out.jsonl' } },
      }),
    );
    const run = startIocflow('worker', join(dir, 'config.yaml'), address);
    const { child, exited } = run;
    try {
      await waitFor('the worker to poll', () => (run.stderr.includes('worker polling') ? true : undefined));

      const pipeline = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(pipeline).toContain('# TYPE iocflow_source_entries_total counter');
      const sdk = await (await fetch(`http://127.0.0.1:${temporalPort}/metrics`)).text();
      expect(sdk).toMatch(/^temporal_/m);

      const { config } = loadConfig(join(dir, 'config.yaml'), { TEMPORAL_ADDRESS: address });
      connection = await Connection.connect({ address });
      const handle = await startCycleNow(new Client({ connection }), config);
      await waitFor('the feed request', () => (feed!.requests.length > 0 ? true : undefined));

      const signalledAt = Date.now();
      child.kill('SIGTERM');
      const [code, signal] = await exited;
      const tookMs = Date.now() - signalledAt;

      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(tookMs).toBeLessThan(GRACE_S * 1000);
      const logLines = run.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      // The activity ran to its end after the signal instead of being cancelled.
      expect(logLines.find((l) => l.msg === 'source collected')).toMatchObject({
        source: 'slow',
        cycleId: handle.workflowId,
        report: { entries: 2, indicators: 2 },
      });
      expect(tookMs).toBeGreaterThan(FEED_DELAY_MS / 2);
      expect(run.stderr).toContain('iocflow: stopped');
      await handle.terminate('test over');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('dev: a SIGTERM while it is still starting stops it at once, before any worker, schedule or cycle', async () => {
    const address = inject('temporalAddress');
    const dir = mkdtempSync(join(tmpdir(), 'iocflow-dev-'));
    const id = randomUUID().slice(0, 8);
    writeFileSync(
      join(dir, 'config.yaml'),
      stringify({
        temporal: { taskQueue: `startup-${id}` },
        store: { path: 'iocflow.db' },
        schedule: { id: `startup-${id}` },
        sources: {},
        sinks: {},
      }),
    );
    const run = startIocflow('dev', join(dir, 'config.yaml'), address);
    const { child, exited } = run;
    try {
      // Printed once the config is loaded and logging installed, before the Temporal connection.
      await waitFor('the config line', () => (run.stderr.includes('iocflow: config ') ? true : undefined));
      child.kill('SIGTERM');
      const [code, signal] = await exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(run.stderr).toContain('iocflow: stopped');
      expect(run.stderr).not.toContain('cycle startup-');
      connection ??= await Connection.connect({ address });
      const client = new Client({ connection });
      await expect(client.schedule.getHandle(`startup-${id}`).describe()).rejects.toThrow();
      const cycles = [];
      for await (const w of client.workflow.list({ query: `TaskQueue = 'startup-${id}'` })) cycles.push(w);
      expect(cycles).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
