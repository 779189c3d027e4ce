import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { CycleReport } from '../../src/shared/messages.js';
import { startCycleNow } from '../../src/temporal/cycles.js';
import { startAbuseIpdbFake } from '../fakes/abuseipdb.js';
import { startCrowdStrikeFake, type FalconFake } from '../fakes/crowdstrike.js';
import { startFileFake } from '../fakes/files.js';
import { startMispFake } from '../fakes/misp.js';
import { startSentinelFake, type SentinelFake } from '../fakes/sentinel.js';
import type { FakeServer } from '../fakes/server.js';
import { startShodanFake } from '../fakes/shodan.js';
import { startSplunkHecFake, type HecFake } from '../fakes/splunk-hec.js';
import { startVirusTotalFake } from '../fakes/virustotal.js';
import { generateFeed, until } from './support/scenario.js';
import {
  connectClient,
  startWorkerProcess,
  writeTestConfig,
  type WorkerProcess,
} from './support/worker-process.js';

// Every credential of the run: distinctive, and URL-safe so that a query string would carry them verbatim.
const SECRETS = {
  virustotal: 'vt-key-S3CR3T-9d41c7e2a0',
  shodan: 'shodan-key-S3CR3T-5b8e13f6c4',
  abuseipdbWrong: 'abuse-key-WRONG-S3CR3T-7a2f90d1e3',
  abuseipdbReal: 'abuse-key-REAL-S3CR3T-0c6d28b4f5',
  hec: 'hec-token-S3CR3T-3e9a57c1b2',
  sentinel: 'sentinel-client-S3CR3T-8f04b6d2a9',
  crowdstrike: 'falcon-client-S3CR3T-1d7c39e5f0',
  misp: 'misp-key-S3CR3T-6a5e02c8d7',
};
const FEED = generateFeed('leak', 49, 30);
const WORKSPACE = '3f1c2d4e-0000-4000-8000-00000000beef';
const EVENT = '9b2e4c6a-1f3d-4e5a-8b7c-0d9e1f2a3b4c';

/** Walks a history (or any proto object) into text, with every payload's bytes decoded as UTF-8. */
function historyText(history: unknown): string {
  return JSON.stringify(history, (_key, value: unknown) =>
    value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value,
  );
}

async function exportHistories(client: Client, taskQueue: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  // The cycle and its EnrichIoc children run on the task queue; vendor activities are in their histories.
  for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    out.set(`${execution.workflowId}/${execution.runId}`, historyText(history));
  }
  return out;
}

/** Where each secret was found, as `<place>: <secret name>`. */
function leaks(places: Map<string, string>, secrets: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [place, text] of places) {
    for (const [name, secret] of Object.entries(secrets)) {
      if (text.includes(secret)) found.push(`${place}: ${name}`);
    }
  }
  return found;
}

describe('a full cycle with distinctive credentials leaks none of them', () => {
  const closers: (() => Promise<unknown>)[] = [];
  let worker: WorkerProcess;
  let report: CycleReport;
  let dir: string;
  let histories: Map<string, string>;
  let hec: HecFake;
  let sentinel: SentinelFake;
  let falcon: FalconFake;
  let fakes: FakeServer[];
  /** OAuth access tokens the fakes issued (taken from the requests that carried them): secrets too. */
  const bearerTokens: Record<string, string> = {};

  beforeAll(async () => {
    const address = inject('temporalAddress');
    const window = { requests: 100, windowMs: 1000 };
    const vt = await startVirusTotalFake({
      keys: [SECRETS.virustotal],
      rateLimit: window,
      dailyQuota: 10_000,
    });
    const shodan = await startShodanFake({ keys: [SECRETS.shodan], rateLimit: window });
    // The configured AbuseIPDB key is wrong: every lookup is refused, and the refusals travel as errors.
    const abuse = await startAbuseIpdbFake({ keys: [SECRETS.abuseipdbReal], rateLimit: window });
    hec = await startSplunkHecFake({ tokens: { [SECRETS.hec]: {} } });
    sentinel = await startSentinelFake({
      tenantId: 'leak-tenant',
      clients: { 'leak-app': SECRETS.sentinel },
      workspaceId: WORKSPACE,
    });
    falcon = await startCrowdStrikeFake({ clients: { 'leak-cs': SECRETS.crowdstrike } });
    const now = Math.floor(Date.now() / 1000);
    const misp = await startMispFake({
      apiKey: SECRETS.misp,
      events: [
        {
          uuid: EVENT,
          info: 'Leak test event',
          timestamp: now - 3600,
          Attribute: [
            { uuid: 'leak-a1', type: 'ip-dst', value: FEED[0]!, to_ids: true, timestamp: now - 3600 },
          ],
        },
      ],
    });
    const files = await startFileFake();
    files.put('/feed.txt', FEED.join('\n') + '\n');
    fakes = [vt, shodan, abuse, hec, sentinel, falcon, misp, files];
    closers.push(() => Promise.all(fakes.map((f) => f.close())));
    // Each HTTP sink fails once first, so its error path runs too.
    hec.failPosts.add(1);
    sentinel.storeThenFail = 1;

    const test = writeTestConfig(address, {
      sources: {
        feed: { type: 'plain', url: `${files.url}/feed.txt`, reliability: 80 },
        'misp-main': { type: 'misp', url: misp.url, apiKey: SECRETS.misp, reliability: 60 },
      },
      enrichers: {
        virustotal: {
          apiKey: SECRETS.virustotal,
          baseUrl: `${vt.url}/api/v3`,
          rateLimit: { requests: 50, per: '1s' },
        },
        shodan: { apiKey: SECRETS.shodan, baseUrl: shodan.url, rateLimit: { requests: 50, per: '1s' } },
        abuseipdb: {
          apiKey: SECRETS.abuseipdbWrong,
          baseUrl: `${abuse.url}/api/v2`,
          rateLimit: { requests: 50, per: '1s' },
        },
      },
      sinks: {
        splunk: { type: 'splunk-hec', url: hec.url, token: SECRETS.hec, threshold: 0 },
        sentinel: { ...sentinel.sinkConfig('leak-app'), threshold: 0 },
        falcon: {
          type: 'crowdstrike',
          baseUrl: falcon.url,
          clientId: 'leak-cs',
          clientSecret: SECRETS.crowdstrike,
          threshold: 0,
        },
        feedback: { type: 'misp-feedback', url: misp.url, apiKey: SECRETS.misp, sources: ['misp-main'] },
      },
    });
    dir = test.dir;
    const { connection, client } = await connectClient(address);
    closers.push(() => connection.close());
    worker = startWorkerProcess(test.file, address);
    closers.push(() => worker.stop());
    await worker.ready;
    report = await (await startCycleNow(client, test.config)).result();
    await worker.stop();
    await until('every workflow visible', async () => {
      histories = await exportHistories(client, test.config.temporal.taskQueue);
      return histories.size === new Set(FEED).size + 1;
    });
    for (const fake of [sentinel, falcon]) {
      for (const r of fake.requests) {
        const bearer = /^Bearer (\S+)$/.exec(String(r.headers.authorization ?? ''));
        if (bearer)
          bearerTokens[`${fake === falcon ? 'falcon' : 'entra'} token ${bearer[1]!.slice(0, 6)}…`] =
            bearer[1]!;
      }
    }
  }, 110_000);

  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  });

  test('the cycle ran every path: lookups, a refused key, sink failures and retries, deliveries', () => {
    expect(report.progress).toMatchObject({ planned: FEED.length, completed: FEED.length, failed: 0 });
    const bySink = Object.fromEntries(report.sinks.map((s) => [s.sink, s]));
    for (const sink of ['splunk', 'sentinel', 'falcon']) expect(bySink[sink]).toMatchObject({ pending: 0 });
    expect(bySink.splunk!.delivered).toBe(FEED.length);
    expect(hec.posts).toBeGreaterThan(1);
    expect(Object.keys(bearerTokens).length).toBeGreaterThanOrEqual(2);
    const all = [...histories.values()].join('\n');
    // The refused key, the failed posts and the lookups are in the histories: the search below reads them.
    expect(all).toContain('AbuseIPDB rejected the credentials');
    expect(all).toMatch(/Splunk HEC[^"]*503/);
    expect(all).toContain(FEED[1]!);
    // The cycle and one EnrichIoc per IOC (the feed repeats one IP).
    expect(histories.size).toBe(new Set(FEED).size + 1);
    // The worker logged the failures, so its output is an error path searched too.
    expect(worker.output.join('\n')).toMatch(/AbuseIPDB rejected the credentials/);
  });

  test('no credential or issued token appears in any history, log line, report, or store byte', () => {
    const secrets = { ...SECRETS, ...bearerTokens };
    const places = new Map<string, string>([...histories].map(([id, text]) => [`history ${id}`, text]));
    places.set('worker output', worker.output.join('\n'));
    places.set('cycle report', JSON.stringify(report));
    // The store and its WAL, byte for byte (latin1 keeps every byte one character).
    for (const file of readdirSync(dir).filter((f) => f.startsWith('iocflow.db'))) {
      places.set(`store ${file}`, readFileSync(join(dir, file)).toString('latin1'));
    }
    expect(places.get('worker output')).toMatch(/worker polling/);
    expect(places.get('store iocflow.db')).toContain(FEED[1]!);
    // The scan finds what is there (a control), and nothing is there.
    expect(leaks(new Map([['control', `Splunk ${SECRETS.hec}`]]), secrets)).toEqual(['control: hec']);
    expect(leaks(places, secrets)).toEqual([]);
    console.info(
      `secret scan: ${histories.size} histories (${[...histories.values()].reduce((n, h) => n + h.length, 0)} chars), ` +
        `${worker.output.length} log lines, the report, ${places.size - histories.size - 2} store file(s), ` +
        `${Object.keys(secrets).length} secrets`,
    );
  });
});
