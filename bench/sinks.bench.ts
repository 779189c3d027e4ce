// Delivery rate per sink against its fake on loopback: N IOCs queued in a temp store (recordScore, as
// scoring does), then one drainOutbox per sink, as the deliver activity runs it (without Temporal around
// it). Prints IOCs/second and how many HTTP requests the delivery took (tokens and lookups included).
// The fakes' rate limits are raised and the sinks' client-side budgets lifted, so this measures the
// sink and the store, not the vendors' quotas (Sentinel's real 100 requests/min caps it near 10,000/min).
// Run: node --import tsx bench/sinks.bench.ts [iocs]

import { configSchema, type SinkConfig } from '../src/config/index.js';
import { createHttpClient } from '../src/http/client.js';
import { drainOutbox } from '../src/pipeline/deliver.js';
import { computeScore } from '../src/scoring/index.js';
import { createSink, TokenCache } from '../src/sinks/index.js';
import { recordScore, recordSightings, type Store } from '../src/store/index.js';
import { startCrowdStrikeFake } from '../test/fakes/crowdstrike.js';
import { startMispFake, type FakeAttribute } from '../test/fakes/misp.js';
import { startSentinelFake } from '../test/fakes/sentinel.js';
import { startSplunkHecFake } from '../test/fakes/splunk-hec.js';
import type { FakeServer } from '../test/fakes/server.js';
import { tempStore } from '../test/support/store.js';
import { scoringSchema } from '../src/config/scoring.js';

/** Scores equal to the source's reliability. */
const SCORE_EQUALS_RELIABILITY = scoringSchema.parse({ weights: { source: 1 } });

const N = Number(process.argv[2] ?? 10_000);
const http = createHttpClient({ timeoutMs: 60_000 });
const EVENT = '5a3c2f5e-2f9c-4ad0-8fa0-46da02de0b81';
const WORKSPACE = '3f1c2d4e-0000-4000-8000-000000000001';
const values = Array.from({ length: N }, (_, i) => `45.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

function queued(sink: string): Store {
  const store = tempStore();
  recordSightings(
    store.db,
    values.map((value) => ({
      key: `ipv4:${value}`,
      type: 'ipv4',
      value,
      source: 'misp-main',
      sourceRef: EVENT,
      tags: ['c2'],
      seenAt: Date.now(),
    })),
    'bench',
  );
  const ids = store.sqlite.prepare('select id from iocs').all() as { id: number }[];
  for (const { id } of ids) {
    recordScore(
      store.db,
      id,
      computeScore({ sightings: [{ source: 'misp-main', reliability: 90 }] }, SCORE_EQUALS_RELIABILITY),
      [{ sink, threshold: 70 }],
      'bench',
      Date.now(),
    );
  }
  return store;
}

async function bench(name: string, raw: Record<string, unknown>, fake: FakeServer): Promise<void> {
  const config = configSchema.parse({
    sources: { 'misp-main': { type: 'misp', url: fake.url, apiKey: 'k' } },
    sinks: { [name]: raw },
  }).sinks[name] as SinkConfig;
  const store = queued(name);
  const sink = createSink(name, config, { http, tokens: new TokenCache() });
  const before = fake.requests.length;
  const started = performance.now();
  const report = await drainOutbox(sink, store.db, {
    cycleId: 'bench',
    holder: 'bench',
    now: Date.now,
    batchSize: config.batchSize,
  });
  const seconds = (performance.now() - started) / 1000;
  const requests = fake.requests.length - before;
  console.log(
    `${name.padEnd(14)} ${String(report.delivered).padStart(6)} delivered ${String(report.rejected).padStart(4)} rejected  ` +
      `${(report.delivered / seconds).toFixed(0).padStart(7)} IOCs/s  ${String(requests).padStart(6)} requests  (batch ${config.batchSize}, ${seconds.toFixed(2)} s)`,
  );
  store.close();
  await fake.close();
}

console.log(`sinks: ${N} IOCs each, drained against loopback fakes`);
const noLimit = { requests: 1_000_000, per: '1m' };

{
  const fake = await startSplunkHecFake({ tokens: { t: {} } });
  await bench('splunk-hec', { type: 'splunk-hec', url: fake.url, token: 't', batchSize: 1000 }, fake);
}
{
  const fake = await startSplunkHecFake({ tokens: { t: { useAck: true } } });
  await bench(
    'splunk-hec-ack',
    {
      type: 'splunk-hec',
      url: fake.url,
      token: 't',
      batchSize: 1000,
      ack: { enabled: true, pollIntervalMs: 10 },
    },
    fake,
  );
}
{
  const fake = await startSentinelFake({
    tenantId: 't1',
    clients: { app: 's' },
    workspaceId: WORKSPACE,
    rateLimit: { requests: 1_000_000, windowMs: 60_000 },
  });
  await bench(
    'sentinel',
    {
      type: 'sentinel',
      tenantId: 't1',
      clientId: 'app',
      clientSecret: 's',
      workspaceId: WORKSPACE,
      authorityHost: fake.url,
      apiBaseUrl: fake.url,
      rateLimit: noLimit,
    },
    fake,
  );
}
{
  const fake = await startCrowdStrikeFake({ clients: { cs: 's' }, perMinute: 1_000_000 });
  await bench(
    'crowdstrike',
    {
      type: 'crowdstrike',
      baseUrl: fake.url,
      clientId: 'cs',
      clientSecret: 's',
      batchSize: 1000,
      rateLimit: noLimit,
    },
    fake,
  );
}
{
  const attributes: FakeAttribute[] = values.map((value, i) => ({
    uuid: `attr-${i}`,
    type: 'ip-dst',
    value,
    to_ids: true,
    timestamp: 1_700_000_000,
  }));
  const fake = await startMispFake({
    apiKey: 'k',
    events: [{ uuid: EVENT, info: 'bench', timestamp: 1_700_000_000, Attribute: attributes }],
  });
  await bench(
    'misp-feedback',
    { type: 'misp-feedback', url: fake.url, apiKey: 'k', sources: ['misp-main'] },
    fake,
  );
}
