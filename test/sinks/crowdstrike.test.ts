import { afterEach, describe, expect, test } from 'vitest';
import { configSchema, CROWDSTRIKE_CLOUDS } from '../../src/config/index.js';
import { AuthRejectedError, RateLimitedError } from '../../src/http/failures.js';
import { crowdstrikeSink } from '../../src/sinks/crowdstrike.js';
import { createSink, TokenCache } from '../../src/sinks/index.js';
import { findIoc, recordScore, type Store } from '../../src/store/index.js';
import { scoringSchema } from '../../src/config/scoring.js';
import { computeScore } from '../../src/scoring/index.js';
import { startCrowdStrikeFake, type FalconFake } from '../fakes/crowdstrike.js';
import { seed, sighting, tempStore } from '../support/store.js';
import { crashingOn, deliveredCount, drain, http, ipv4s, queue, rescore, type Queued } from './support.js';

let store: Store & { dir: string };
let fake: FalconFake;
/** A second cloud's fake, when a test has one. */
let otherCloud: FalconFake | undefined;
afterEach(async () => {
  store?.close();
  await fake?.close();
  await otherCloud?.close();
  otherCloud = undefined;
});

function falcon(extra: Record<string, unknown> = {}, tokens = new TokenCache()) {
  const config = configSchema.parse({
    sinks: {
      cs: {
        type: 'crowdstrike',
        baseUrl: fake.url,
        clientId: 'client-1',
        clientSecret: 'right-secret',
        ...extra,
      },
    },
  });
  return createSink('cs', config.sinks.cs!, { http, tokens });
}

const SHA = 'a'.repeat(64);
const SCORING = scoringSchema.parse({ weights: { source: 1 } });

/** Records a score whose IOC expires at `expiresAt` (the support helpers' scores never expire). */
function scoreExpiring(store: Store, i: Queued, expiresAt: number): void {
  const ioc = findIoc(store.db, `${i.type}:${i.value}`)!;
  const scored = computeScore({ sightings: [{ source: 'feed', reliability: i.score ?? 90 }] }, SCORING);
  recordScore(store.db, ioc.id, { ...scored, expiresAt }, [{ sink: 'cs', threshold: 70 }], 'c1', Date.now());
}

describe('crowdstrike sink', () => {
  test('creates indicators with action and severity from the score; unsupported types are rejected', async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' } });
    store = tempStore();
    queue(
      store,
      [...ipv4s(3), { type: 'sha256', value: SHA, score: 95 }, { type: 'url', value: 'http://x.example/a' }],
      'cs',
    );
    expect(await drain(falcon({ preventAt: 90, tags: ['iocflow'] }), store)).toMatchObject({
      delivered: 4,
      rejected: 1,
    });
    expect(fake.indicators.size).toBe(4);
    expect(fake.find('sha256', SHA)).toMatchObject({
      action: 'prevent',
      severity: 'critical',
      applied_globally: true,
    });
    expect(fake.find('ipv4', '45.0.0.0')).toMatchObject({
      action: 'detect',
      severity: 'critical',
      platforms: ['windows', 'mac', 'linux'],
      source: 'iocflow',
      tags: ['iocflow'],
    });
    expect(fake.tokensIssued).toBe(1);
  });

  test('a re-score patches the same indicator, a withdrawal deletes it; nothing is sent twice', async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' } });
    store = tempStore();
    const [a, b] = ipv4s(2);
    queue(store, [a!, b!], 'cs');
    const tokens = new TokenCache();
    await drain(falcon({}, tokens), store);
    rescore(store, { ...a!, score: 75 }, 'cs');
    rescore(store, { ...b!, score: 10 }, 'cs');
    expect(await drain(falcon({}, tokens), store)).toMatchObject({ delivered: 2 });
    expect(fake.indicators.size).toBe(1);
    expect(fake.find('ipv4', a!.value)).toMatchObject({ severity: 'high' });
    expect(fake.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    expect(fake.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
    const before = fake.requests.length;
    expect(await drain(falcon({}, tokens), store)).toMatchObject({ delivered: 0, batches: 0 });
    expect(fake.requests.length).toBe(before);
    expect(tokens.fetched).toBe(1);
  });

  test('500 withdrawals in one batch are all deleted, 100 ids to a DELETE', async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' } });
    store = tempStore();
    const iocs = ipv4s(500);
    queue(store, iocs, 'cs');
    const tokens = new TokenCache();
    expect(await drain(falcon({}, tokens), store, 500)).toMatchObject({ delivered: 500 });
    for (const i of iocs) rescore(store, { ...i, score: 10 }, 'cs');
    expect(await drain(falcon({}, tokens), store, 500)).toMatchObject({ delivered: 500, pending: 0 });
    expect(fake.indicators.size).toBe(0);
    const deletes = fake.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.map((r) => r.query.getAll('ids').length)).toEqual([100, 100, 100, 100, 100]);
  });

  test('a duplicate on create that this client made meanwhile becomes an update', async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' } });
    store = tempStore();
    const iocs = ipv4s(3);
    queue(store, iocs, 'cs');
    fake.raceValues.set(iocs[1]!.value, 'client-1');
    expect(await drain(falcon(), store)).toMatchObject({ delivered: 3, rejected: 0 });
    expect(fake.indicators.size).toBe(3);
    expect(fake.find('ipv4', iocs[1]!.value)).toMatchObject({ source: 'iocflow', action: 'detect' });
  });

  test("another creator's IOC is left alone on upsert, on a duplicate create and on withdrawal", async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' } });
    store = tempStore();
    const [mine, analysts, raced] = ipv4s(3);
    const planted = fake.plant('ipv4', analysts!.value, 'analyst-7', { description: 'analyst note' });
    const before = structuredClone(planted);
    fake.raceValues.set(raced!.value, 'other-integration');
    queue(store, [mine!, analysts!, raced!], 'cs');
    const tokens = new TokenCache();
    expect(await drain(falcon({}, tokens), store)).toMatchObject({ delivered: 1, rejected: 2 });
    const messages = store.sqlite
      .prepare("select message from deliveries where outcome = 'rejected'")
      .all() as { message: string }[];
    expect(messages).toEqual([
      { message: 'CrowdStrike: Falcon already holds this IOC from another creator (analyst-7); left alone' },
      {
        message:
          'CrowdStrike: Falcon already holds this IOC from another creator (other-integration); left alone',
      },
    ]);
    expect(fake.requests.filter((r) => r.method === 'PATCH')).toHaveLength(0);
    expect(fake.find('ipv4', analysts!.value)).toEqual(before);
    expect(fake.find('ipv4', raced!.value)).toMatchObject({
      created_by: 'other-integration',
      source: 'other-integration',
    });

    const mineId = fake.find('ipv4', mine!.value)!.id;
    for (const i of [mine!, analysts!, raced!]) rescore(store, { ...i, score: 10 }, 'cs');
    expect(await drain(falcon({}, tokens), store)).toMatchObject({ delivered: 3, pending: 0 });
    expect(fake.find('ipv4', mine!.value)).toBeUndefined();
    expect(fake.find('ipv4', analysts!.value)).toEqual(before);
    expect(fake.find('ipv4', raced!.value)).toMatchObject({ created_by: 'other-integration' });
    const deletes = fake.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.flatMap((r) => r.query.getAll('ids'))).toEqual([mineId]);
    expect(fake.requests.filter((r) => r.method === 'PATCH')).toHaveLength(0);
  });

  test('an upsert delivered after its expiry is a withdrawal: nothing live is created or kept', async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' } });
    store = tempStore();
    const [late, fresh, held] = ipv4s(3);
    queue(store, [held!], 'cs');
    const tokens = new TokenCache();
    await drain(falcon({}, tokens), store);
    const inAnHour = Date.now() + 3_600_000;
    seed(
      store,
      [late!, fresh!].map((i) => sighting(i.type, i.value, 'feed')),
    );
    scoreExpiring(store, late!, Date.now() - 3_600_000);
    scoreExpiring(store, fresh!, inAnHour);
    scoreExpiring(store, { ...held!, score: 80 }, Date.now() - 1_000);
    expect(await drain(falcon({}, tokens), store)).toMatchObject({ delivered: 3, rejected: 0, pending: 0 });
    expect(fake.find('ipv4', late!.value)).toBeUndefined();
    expect(fake.find('ipv4', held!.value)).toBeUndefined();
    expect(fake.find('ipv4', fresh!.value)).toMatchObject({
      action: 'detect',
      expired: false,
      expiration: new Date(inAnHour).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
  });

  test('withdraw: expire sets expiration now; a re-upsert brings back a live indicator', async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' } });
    store = tempStore();
    const [a, late] = ipv4s(2);
    queue(store, [a!, late!], 'cs');
    const tokens = new TokenCache();
    await drain(falcon({ withdraw: 'expire' }, tokens), store);
    rescore(store, { ...a!, score: 10 }, 'cs');
    scoreExpiring(store, { ...late!, score: 80 }, Date.now() - 1_000);
    expect(await drain(falcon({ withdraw: 'expire' }, tokens), store)).toMatchObject({ delivered: 2 });
    for (const i of [a!, late!])
      expect(fake.find('ipv4', i.value)).toMatchObject({ action: 'no_action', expired: true });
    rescore(store, { ...a!, score: 85 }, 'cs', 70, 1_700_000_300_000);
    expect(await drain(falcon({ withdraw: 'expire' }, tokens), store)).toMatchObject({
      delivered: 1,
      rejected: 0,
    });
    const back = fake.find('ipv4', a!.value);
    expect(back).toMatchObject({ action: 'detect', severity: 'high', expired: false });
    expect(back?.expiration).toBeUndefined();
  });

  test('a per-indicator error rejects that indicator only', async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' } });
    store = tempStore();
    const iocs = ipv4s(4);
    queue(store, iocs, 'cs');
    fake.rejectValues.add(iocs[2]!.value);
    expect(await drain(falcon(), store)).toMatchObject({ delivered: 3, rejected: 1 });
    const row = store.sqlite.prepare("select message from deliveries where outcome = 'rejected'").get();
    expect(row).toEqual({ message: `CrowdStrike: value ${iocs[2]!.value} is on an exclusion list` });
  });

  test('a wrong secret is an auth failure naming the config key; an expired token is refreshed', async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'other' } });
    store = tempStore();
    queue(store, ipv4s(2), 'cs');
    const err = await drain(falcon(), store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthRejectedError);
    expect((err as Error).message).toContain('sinks.cs.clientSecret');
    await fake.close();

    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' } });
    const tokens = new TokenCache();
    await drain(falcon({}, tokens), store);
    rescore(store, { ...ipv4s(1)[0]!, score: 80 }, 'cs');
    fake.revokeTokens();
    expect(await drain(falcon({}, tokens), store)).toMatchObject({ delivered: 1 });
    expect(fake.tokensIssued).toBe(2);
  });

  test('a token answer naming another cloud moves the IOC calls there, warning with the config key', async () => {
    // us-1 plays the cloud the tenant is not in; eu-1 takes the tokens us-1 issued, as one account's clouds do.
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' }, tenantRegion: 'eu-1' });
    otherCloud = await startCrowdStrikeFake({
      clients: { 'client-1': 'right-secret' },
      region: 'eu-1',
      account: fake,
    });
    store = tempStore();
    queue(store, ipv4s(2), 'cs');
    const config = configSchema.parse({
      sinks: { cs: { type: 'crowdstrike', clientId: 'client-1', clientSecret: 'right-secret' } },
    }).sinks.cs!;
    if (config.type !== 'crowdstrike') throw new Error('not a crowdstrike sink');
    const warnings: string[] = [];
    const sink = crowdstrikeSink('cs', config, {
      http,
      tokens: new TokenCache(),
      warn: (m) => warnings.push(m),
      clouds: { ...CROWDSTRIKE_CLOUDS, 'us-1': fake.url, 'eu-1': otherCloud.url },
    });
    expect(await drain(sink, store)).toMatchObject({ delivered: 2, pending: 0 });
    expect(otherCloud.indicators.size).toBe(2);
    expect(fake.requests.map((r) => r.path)).toEqual(['/oauth2/token']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('cloud eu-1 (X-Cs-Region), not us-1');
    expect(warnings[0]).toContain('sinks.cs.cloud: eu-1');
  });

  test('an explicit baseUrl in the wrong cloud: the 401 says which cloud the tenant is in and which keys to change', async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' }, tenantRegion: 'eu-1' });
    store = tempStore();
    queue(store, ipv4s(2), 'cs');
    const err = await drain(falcon(), store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthRejectedError);
    expect((err as Error).message).toContain('the tenant is in cloud eu-1 (X-Cs-Region), not us-1');
    expect((err as Error).message).toContain('set sinks.cs.cloud: eu-1 and remove sinks.cs.baseUrl');
    expect((err as Error).message).not.toContain('right-secret');
    expect(fake.indicators.size).toBe(0);
  });

  test('429 (another client spent the budget) waits until X-Ratelimit-Retryafter', async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' } });
    store = tempStore();
    queue(store, ipv4s(2), 'cs');
    const at = Math.ceil(Date.now() / 1000) + 20;
    fake.script({
      status: 429,
      headers: { 'x-ratelimit-retryafter': String(at), 'x-ratelimit-remaining': '0' },
    });
    const err = await drain(falcon(), store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBeGreaterThan(15_000);
    expect((err as RateLimitedError).retryAfterMs).toBeLessThanOrEqual(at * 1000 - Date.now() + 50);
  });

  test('a spent budget holds the next request until X-Ratelimit-Retryafter instead of hearing a 429', async () => {
    fake = await startCrowdStrikeFake({
      clients: { 'client-1': 'right-secret' },
      perMinute: 3,
      windowMs: 2_000,
      retryAfterWhenSpent: true,
    });
    store = tempStore();
    queue(store, ipv4s(6), 'cs');
    // Three batches of two: a lookup and a create each, six requests against a budget of three per 2 s.
    expect(await drain(falcon({ batchSize: 2 }), store, 2)).toMatchObject({ delivered: 6, pending: 0 });
    const api = fake.requests.filter((r) => r.path.startsWith('/iocs'));
    expect(api.map((r) => r.status)).not.toContain(429);
    expect(api).toHaveLength(6);
    expect(api[3]!.at - api[0]!.at).toBeGreaterThanOrEqual(2_000);
    expect(fake.indicators.size).toBe(6);
  });

  test('a spent budget that names no moment waits a whole window, handed to Temporal as the retry delay', async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' }, perMinute: 3 });
    store = tempStore();
    queue(store, ipv4s(6), 'cs');
    const err = await drain(falcon({ batchSize: 2 }), store, 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as Error).message).toContain('request budget spent');
    expect((err as RateLimitedError).retryAfterMs).toBeGreaterThan(55_000);
    expect((err as RateLimitedError).retryAfterMs).toBeLessThanOrEqual(60_000);
    // The first batch was settled; the request that would have been refused was never sent.
    expect(deliveredCount(store)).toBe(2);
    const api = fake.requests.filter((r) => r.path.startsWith('/iocs'));
    expect(api.map((r) => r.status)).toEqual([200, 201, 200]);
  });

  test('a crash between create and marking updates on the retry: each IOC once', async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' } });
    store = tempStore();
    queue(store, ipv4s(30), 'cs');
    await expect(drain(crashingOn(falcon(), 2), store, 10)).rejects.toThrow('worker killed');
    expect(await drain(falcon(), store, 10)).toMatchObject({ delivered: 20, pending: 0 });
    expect(fake.indicators.size).toBe(30);
  });

  test('an upsert and then a withdrawal, both pending, leave nothing in Falcon', async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' } });
    store = tempStore();
    const [a, b] = ipv4s(2);
    queue(store, [a!], 'cs');
    rescore(store, { ...a!, score: 10 }, 'cs');
    queue(store, [b!], 'cs');
    expect(await drain(falcon(), store)).toMatchObject({ delivered: 3, batches: 2, pending: 0 });
    expect(fake.find('ipv4', a!.value)).toBeUndefined();
    expect(fake.find('ipv4', b!.value)).toBeDefined();
  });

  test('a withdrawal and then a new upsert, both pending, leave the IOC live', async () => {
    fake = await startCrowdStrikeFake({ clients: { 'client-1': 'right-secret' } });
    store = tempStore();
    const [a] = ipv4s(1);
    queue(store, [a!], 'cs');
    await drain(falcon(), store);
    rescore(store, { ...a!, score: 10 }, 'cs');
    rescore(store, { ...a!, score: 95 }, 'cs', 70, 1_700_000_300_000);
    expect(await drain(falcon(), store)).toMatchObject({ delivered: 2, pending: 0 });
    expect(fake.find('ipv4', a!.value)).toMatchObject({ action: 'detect', severity: 'critical' });
  });
});
