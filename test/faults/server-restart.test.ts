import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { progressQuery, type CycleProgress, type CycleReport } from '../../src/shared/messages.js';
import { startCycleNow } from '../../src/temporal/cycles.js';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes.js';
import type { AbuseIpdbFake } from '../fakes/abuseipdb.js';
import { startFileFake } from '../fakes/files.js';
import type { ShodanFake } from '../fakes/shodan.js';
import { startSplunkHecFake, type HecFake } from '../fakes/splunk-hec.js';
import { startVendorFakes } from '../fakes/vendors.js';
import type { VirusTotalFake } from '../fakes/virustotal.js';
import { testNamespace } from '../support/namespace.js';
import { freePort, startFileDevServer, type DevServerProcess } from './support/dev-server.js';
import { generateFeed, readStore, servedLookups, storeCounts, until } from './support/scenario.js';
import {
  connectClient,
  startWorkerProcess,
  writeTestConfig,
  type WorkerProcess,
} from './support/worker-process.js';

const FEED = generateFeed('restart', 50, 200);
const IPS = FEED.filter((v) => /^\d+\.\d+\.\d+\.\d+$/.test(v)).length;
const HEC_TOKEN = 'hec-restart-token';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The cycle's result, asked again while the frontend is still coming back. */
async function resultOf(handle: WorkflowHandle): Promise<CycleReport> {
  for (let attempt = 0; ; attempt++) {
    try {
      return (await handle.result()) as CycleReport;
    } catch (err) {
      if (attempt >= 30 || !/UNAVAILABLE|connect|ECONNREFUSED|14 /i.test(String(err))) throw err;
      await sleep(1000);
    }
  }
}

describe(`the dev server SIGKILLed and restarted from its database mid-enrichment (${FEED.length} IOCs)`, () => {
  const closers: (() => Promise<unknown>)[] = [];
  let server: DevServerProcess;
  let worker: WorkerProcess;
  let client: Client;
  let vt: VirusTotalFake;
  let shodan: ShodanFake;
  let abuse: AbuseIpdbFake;
  let hec: HecFake;
  let dir: string;
  let report: CycleReport;
  let atKill: CycleProgress;
  let afterRestart: CycleProgress;
  const events = { serverKills: 0, serverRestarts: 0, workerRestarts: 0, downMs: 0, workerSurvived: false };

  beforeAll(async () => {
    const serverDir = mkdtempSync(join(tmpdir(), 'iocflow-restart-'));
    const dbFile = join(serverDir, 'temporal.db');
    const logFile = join(serverDir, 'temporal.log');
    const port = await freePort();
    server = await startFileDevServer(dbFile, port, logFile);
    closers.push(() => server.stop());
    const address = server.address;
    const connected = await connectClient(address);
    client = connected.client;
    closers.push(() => connected.connection.close());
    await ensureSearchAttributes(connected.connection, testNamespace());

    const window = { requests: 100, windowMs: 1000 };
    const fakes = await startVendorFakes({ rateLimit: window, dailyQuota: 100_000 });
    ({ vt, shodan, abuse } = fakes);
    hec = await startSplunkHecFake({ tokens: { [HEC_TOKEN]: {} } });
    const files = await startFileFake();
    closers.push(() => Promise.all([fakes.close(), hec.close(), files.close()]));
    files.put('/feed.txt', FEED.join('\n') + '\n');
    // A modest rate: VirusTotal's 300 lookups take over ten seconds, so the kill lands among them.
    const rateLimit = { requests: 25, per: '1s' };
    const test = writeTestConfig(address, {
      sources: { feed: { type: 'plain', url: `${files.url}/feed.txt`, reliability: 80 } },
      enrichers: fakes.enrichers(rateLimit, 100_000),
      sinks: { splunk: { type: 'splunk-hec', url: hec.url, token: HEC_TOKEN, threshold: 0, batchSize: 50 } },
    });
    dir = test.dir;
    worker = startWorkerProcess(test.file, address);
    closers.push(() => worker.stop());
    await worker.ready;

    const handle = await startCycleNow(client, test.config);
    const progress = () => handle.query(progressQuery);
    await until(
      'enrichment under way',
      async () => {
        const p = await progress();
        return p.stage === 'enriching' && p.completed >= p.planned * 0.3;
      },
      90_000,
    );
    atKill = await progress();
    await server.kill();
    events.serverKills++;
    const killedAt = Date.now();
    // Down long enough for the worker's polls and completions to fail.
    await sleep(3000);
    server = await startFileDevServer(dbFile, port, logFile);
    events.serverRestarts++;
    events.downMs = Date.now() - killedAt;
    // The SDK worker reconnects on its own; a worker that gave up is restarted, as a supervisor would.
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) {
      worker = startWorkerProcess(test.file, address);
      events.workerRestarts++;
      await worker.ready;
    } else {
      events.workerSurvived = true;
    }
    // A query is answered by a worker: progress past the kill shows the worker is back at work.
    await until(
      'enrichment to move on after the restart',
      async () => {
        const p = await progress();
        return p.completed > atKill.completed || p.stage !== 'enriching';
      },
      90_000,
    );
    afterRestart = await progress();
    report = await resultOf(handle);
    console.info(
      `dev server: ${events.serverKills} SIGKILL at ${atKill.completed}/${atKill.planned} enriched, down ` +
        `${(events.downMs / 1000).toFixed(1)} s, restarted ${events.serverRestarts}×; worker ` +
        `${events.workerSurvived ? 'reconnected on its own' : `restarted ${events.workerRestarts}×`}; ` +
        `report ${JSON.stringify(report.progress)}; HEC events ${hec.events.length}`,
    );
  }, 240_000);

  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  });

  test('the cycle resumes after the restart and completes with every IOC enriched and scored once', () => {
    expect(atKill.stage).toBe('enriching');
    expect(atKill.completed).toBeLessThan(FEED.length);
    expect(afterRestart.completed).toBeGreaterThanOrEqual(atKill.completed);
    expect(report.progress).toMatchObject({ planned: FEED.length, completed: FEED.length, failed: 0 });
    expect(report.sources).toEqual([
      expect.objectContaining({ source: 'feed', status: 'ok', indicators: FEED.length }),
    ]);
    expect(storeCounts(dir)).toMatchObject({
      iocs: FEED.length,
      sightings: FEED.length,
      scored: FEED.length,
      outbox: FEED.length,
      delivered: FEED.length,
      pending: 0,
      duplicateSightings: 0,
    });
    const versions = readStore(dir, (db) =>
      (db.prepare('select count(*) as n from scores group by ioc_id').all() as { n: number }[]).map(
        (r) => r.n,
      ),
    );
    expect(versions).toHaveLength(FEED.length);
    expect(versions.every((n) => n === 1)).toBe(true);
  });

  test('every vendor looked each IOC up, at most twice for a lookup in flight at the kill', () => {
    const vendors = [
      [vt.requests, (r: { path: string }) => r.path, FEED.length],
      [shodan.requests, (r: { path: string }) => r.path, IPS],
      [abuse.requests, (r: { query: URLSearchParams }) => r.query.get('ipAddress') ?? '', IPS],
    ] as const;
    let twice = 0;
    for (const [requests, resource, expected] of vendors) {
      const served = servedLookups(requests, resource);
      expect(served.size).toBe(expected);
      for (const answers of served.values()) expect(answers.length).toBeLessThanOrEqual(2);
      twice += [...served.values()].filter((a) => a.length === 2).length;
    }
    console.info(`vendor lookups served twice (in flight at the kill): ${twice}`);
  });

  test('each IOC is delivered once: the ledger, the report and the collector agree', () => {
    expect(report.sinks).toEqual([
      expect.objectContaining({ sink: 'splunk', delivered: FEED.length, rejected: 0, pending: 0 }),
    ]);
    expect(hec.deliveryIds().size).toBe(FEED.length);
    expect(hec.events).toHaveLength(FEED.length);
  });
});
