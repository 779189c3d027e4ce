import { afterEach, describe, expect, test } from 'vitest';
import { configSchema } from '../../src/config/index.js';
import { createSink, TokenCache } from '../../src/sinks/index.js';
import { stixIndicatorId } from '../../src/sinks/stix-indicator.js';
import { pendingDeliveries, type Store } from '../../src/store/index.js';
import { startCrowdStrikeFake, type FalconFake } from '../fakes/crowdstrike.js';
import { startSentinelFake, type SentinelFake } from '../fakes/sentinel.js';
import { tempStore } from '../support/store.js';
import { drain, http, ipv4s, queue, rescore } from './support.js';

// Several decisions on one IOC can wait in a sink's outbox together (the sink was down, or a backlog):
// whatever each sink does with a batch, the newest decision must be the one left in force.

let store: Store & { dir: string };
let closeFake: (() => Promise<void>) | undefined;
afterEach(async () => {
  store?.close();
  await closeFake?.();
  closeFake = undefined;
});

async function falcon(): Promise<{ fake: FalconFake; sink: ReturnType<typeof createSink> }> {
  const fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' } });
  closeFake = () => fake.close();
  const config = configSchema.parse({
    sinks: {
      cs: { type: 'crowdstrike', baseUrl: fake.url, clientId: 'client-1', clientSecret: 'right-secret' },
    },
  });
  return { fake, sink: createSink('cs', config.sinks.cs!, { http, tokens: new TokenCache() }) };
}

describe('several pending actions on one IOC', () => {
  test('a batch holds one action per IOC, its oldest; the other IOCs are not held back', () => {
    store = tempStore();
    const [a, b] = ipv4s(2);
    queue(store, [a!], 'cs');
    rescore(store, { ...a!, score: 10 }, 'cs');
    queue(store, [b!], 'cs');
    const batch = pendingDeliveries(store.db, 'cs', 100);
    expect(batch.map((item) => [item.value, item.action])).toEqual([
      [a!.value, 'upsert'],
      [b!.value, 'upsert'],
    ]);
  });

  test('CrowdStrike: an upsert and then a withdrawal, both pending, leave nothing in Falcon', async () => {
    const { fake, sink } = await falcon();
    store = tempStore();
    const [a, b] = ipv4s(2);
    queue(store, [a!], 'cs');
    rescore(store, { ...a!, score: 10 }, 'cs');
    queue(store, [b!], 'cs');
    expect(await drain(sink, store)).toMatchObject({ delivered: 3, batches: 2, pending: 0 });
    expect(fake.find('ipv4', a!.value)).toBeUndefined();
    expect(fake.find('ipv4', b!.value)).toBeDefined();
  });

  test('CrowdStrike: a withdrawal and then a new upsert, both pending, leave the IOC live', async () => {
    const { fake, sink } = await falcon();
    store = tempStore();
    const [a] = ipv4s(1);
    queue(store, [a!], 'cs');
    await drain(sink, store);
    rescore(store, { ...a!, score: 10 }, 'cs');
    rescore(store, { ...a!, score: 95 }, 'cs', 70, 1_700_000_300_000);
    expect(await drain(sink, store)).toMatchObject({ delivered: 2, pending: 0 });
    expect(fake.find('ipv4', a!.value)).toMatchObject({ action: 'detect', severity: 'critical' });
  });

  test('Sentinel: a withdrawal delivered after a newer upsert was scored does not outrank it', async () => {
    const fake: SentinelFake = await startSentinelFake({
      tenantId: 'tenant-1',
      clients: { 'app-1': 'right-secret' },
      workspaceId: '3f1c2d4e-0000-4000-8000-000000000001',
    });
    closeFake = () => fake.close();
    const config = configSchema.parse({
      sinks: {
        ti: {
          type: 'sentinel',
          tenantId: 'tenant-1',
          clientId: 'app-1',
          clientSecret: 'right-secret',
          workspaceId: '3f1c2d4e-0000-4000-8000-000000000001',
          authorityHost: fake.url,
          apiBaseUrl: fake.url,
          rateLimit: { requests: 1000, per: '1m' },
        },
      },
    });
    const sink = createSink('ti', config.sinks.ti!, { http, tokens: new TokenCache() });
    store = tempStore();
    const [a] = ipv4s(1);
    const now = Date.now();
    queue(store, [a!], 'ti', 70, now - 60_000);
    await drain(sink, store);
    rescore(store, { ...a!, score: 10 }, 'ti', 70, now - 30_000);
    rescore(store, { ...a!, score: 95 }, 'ti', 70, now - 10_000);
    await drain(sink, store);
    const stored = fake.indicators.get(`iocflow|${stixIndicatorId(`ipv4:${a!.value}`)}`)!;
    expect(stored.object).not.toHaveProperty('revoked');
    expect(fake.active()).toHaveLength(1);
  });
});
