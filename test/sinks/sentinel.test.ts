import { afterEach, describe, expect, test } from 'vitest';
import { configSchema } from '../../src/config/index.js';
import { AuthRejectedError, RateLimitedError } from '../../src/http/failures.js';
import { createSink, TokenCache } from '../../src/sinks/index.js';
import { stixIndicatorId, stixPattern } from '../../src/sinks/stix-indicator.js';
import type { Store } from '../../src/store/index.js';
import { startSentinelFake, type SentinelFake } from '../fakes/sentinel.js';
import { tempStore } from '../support/store.js';
import { crashingOn, drain, http, ipv4s, queue, rescore } from './support.js';

let store: Store & { dir: string };
let fake: SentinelFake;
afterEach(async () => {
  store?.close();
  await fake?.close();
});

const WORKSPACE = '3f1c2d4e-0000-4000-8000-000000000001';

async function start(options: Partial<Parameters<typeof startSentinelFake>[0]> = {}) {
  fake = await startSentinelFake({
    tenantId: 'tenant-1',
    clients: { 'app-1': 'right-secret' },
    workspaceId: WORKSPACE,
    ...options,
  });
}

function sentinel(extra: Record<string, unknown> = {}, tokens = new TokenCache()) {
  const config = configSchema.parse({
    sinks: {
      ti: {
        type: 'sentinel',
        tenantId: 'tenant-1',
        clientId: 'app-1',
        clientSecret: 'right-secret',
        workspaceId: WORKSPACE,
        authorityHost: fake.url,
        apiBaseUrl: fake.url,
        rateLimit: { requests: 1000, per: '1m' },
        ...extra,
      },
    },
  });
  return createSink('ti', config.sinks.ti!, { http, tokens });
}

describe('sentinel sink', () => {
  test('STIX patterns escape quotes and backslashes; ids are stable per IOC', () => {
    expect(stixPattern('url', "http://x.example/a'b\\c")).toBe("[url:value = 'http://x.example/a\\'b\\\\c']");
    expect(stixPattern('sha256', 'ab')).toBe("[file:hashes.'SHA-256' = 'ab']");
    expect(stixIndicatorId('ipv4:1.2.3.4')).toBe(stixIndicatorId('ipv4:1.2.3.4'));
    expect(stixIndicatorId('ipv4:1.2.3.4')).toMatch(/^indicator--[0-9a-f-]{36}$/);
  });

  test('uploads STIX indicators in batches of at most 100 with one cached token', async () => {
    await start();
    store = tempStore();
    queue(store, ipv4s(250), 'ti');
    const tokens = new TokenCache();
    expect(await drain(sentinel({}, tokens), store, 100)).toMatchObject({ delivered: 250, batches: 3 });
    expect(fake.uploads).toBe(3);
    expect(tokens.fetched).toBe(1);
    expect(fake.indicators.size).toBe(250);
    const upload = fake.requests.find((r) => r.path.includes('upload'))!;
    expect(upload.query.get('api-version')).toBe('2024-02-01-preview');
    const token = fake.requests.find((r) => r.path.endsWith('/token'))!;
    expect(new URLSearchParams(token.body).get('scope')).toBe('https://management.azure.com/.default');
    const object = fake.indicators.get(`iocflow|${stixIndicatorId('ipv4:45.0.0.1')}`)!.object;
    expect(object).toMatchObject({
      type: 'indicator',
      spec_version: '2.1',
      pattern: "[ipv4-addr:value = '45.0.0.1']",
      pattern_type: 'stix',
      confidence: 35, // the evidence behind the score: one source
      labels: ['feed'],
    });
    expect(await drain(sentinel({}, tokens), store)).toMatchObject({ delivered: 0, batches: 0 });
    expect(fake.uploads).toBe(3);
  });

  test('a re-score updates the same object; a withdrawal revokes it once', async () => {
    await start();
    store = tempStore();
    const [a, b] = ipv4s(2);
    queue(store, [a!, b!], 'ti');
    await drain(sentinel(), store);
    rescore(store, { ...a!, score: 80 }, 'ti');
    rescore(store, { ...b!, score: 20 }, 'ti');
    await drain(sentinel(), store);
    await drain(sentinel(), store);
    const objectOf = (v: string) => fake.indicators.get(`iocflow|${stixIndicatorId(`ipv4:${v}`)}`)!;
    expect(fake.indicators.size).toBe(2);
    expect(objectOf(a!.value)).toMatchObject({ versions: 2, object: { confidence: 35 } });
    expect(objectOf(b!.value)).toMatchObject({ versions: 2, object: { revoked: true } });
    expect(fake.active()).toHaveLength(1);
  });

  test('withdraw: expire sets valid_until instead', async () => {
    await start();
    store = tempStore();
    const [a] = ipv4s(1);
    queue(store, [a!], 'ti');
    await drain(sentinel({ withdraw: 'expire' }), store);
    rescore(store, { ...a!, score: 10 }, 'ti');
    await drain(sentinel({ withdraw: 'expire' }), store);
    expect(fake.active()).toHaveLength(0);
    expect([...fake.indicators.values()][0]!.object.valid_until).toBeDefined();
  });

  test('a per-object error rejects that indicator only', async () => {
    await start();
    store = tempStore();
    const iocs = ipv4s(5);
    queue(store, iocs, 'ti');
    fake.rejectValues.add(iocs[1]!.value);
    expect(await drain(sentinel(), store)).toMatchObject({ delivered: 4, rejected: 1 });
    const row = store.sqlite.prepare("select message from deliveries where outcome = 'rejected'").get() as {
      message: string;
    };
    expect(row.message).toContain('Sentinel: Error for Property=pattern');
  });

  test('a wrong client secret is an auth failure naming the config key', async () => {
    await start({ clients: { 'app-1': 'other' } });
    store = tempStore();
    queue(store, ipv4s(2), 'ti');
    const err = await drain(sentinel(), store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthRejectedError);
    expect((err as Error).message).toContain('sinks.ti.clientSecret');
    expect((err as Error).message).not.toContain('right-secret');
  });

  test('a revoked token is refreshed once; 429 waits as long as the message says', async () => {
    await start({ rateLimit: { requests: 2, windowMs: 60_000 } });
    store = tempStore();
    queue(store, ipv4s(30), 'ti');
    const tokens = new TokenCache();
    await drain(sentinel({ batchSize: 10 }, tokens), store, 10).catch(() => undefined);
    fake.entra.revokeAll();
    const err = await drain(sentinel({ batchSize: 10 }, tokens), store, 10).catch((e: unknown) => e);
    expect(tokens.fetched).toBe(2);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBeGreaterThan(50_000);
    expect(fake.indicators.size).toBe(20);
  });

  test('429 waits as long as Retry-After says (seconds or a date), ahead of the message text', async () => {
    await start();
    store = tempStore();
    queue(store, ipv4s(3), 'ti');
    const throttled = (retryAfter: string) => ({
      status: 429,
      headers: { 'retry-after': retryAfter },
      body: { statusCode: 429, message: 'Rate limit is exceeded. Try again in 40 seconds.' },
    });
    fake.script(throttled('7'));
    const err = await drain(sentinel(), store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(7_000);
    expect((err as Error).message).toContain('retry after 7s');
    fake.script(throttled(new Date(Date.now() + 12_000).toUTCString()));
    const dated = (await drain(sentinel(), store).catch((e: unknown) => e)) as RateLimitedError;
    expect(dated.retryAfterMs).toBeGreaterThan(10_000);
    expect(dated.retryAfterMs).toBeLessThanOrEqual(12_000);
    // Without the header, the message's seconds; with neither, one rate window.
    fake.script({ status: 429, body: { statusCode: 429, message: 'Try again in 40 seconds.' } });
    expect(((await drain(sentinel(), store).catch((e: unknown) => e)) as RateLimitedError).retryAfterMs).toBe(
      40_000,
    );
    fake.script({ status: 429, body: { statusCode: 429, message: 'Rate limit is exceeded.' } });
    expect(((await drain(sentinel(), store).catch((e: unknown) => e)) as RateLimitedError).retryAfterMs).toBe(
      60_000,
    );
    expect(await drain(sentinel(), store)).toMatchObject({ delivered: 3 });
  });

  test('the legacy upload-indicators API is selectable', async () => {
    await start();
    store = tempStore();
    queue(store, ipv4s(3), 'ti');
    expect(await drain(sentinel({ api: 'upload-indicators' }), store)).toMatchObject({ delivered: 3 });
    const upload = fake.requests.find((r) => r.path.includes('upload'))!;
    expect(upload.path).toBe(`/workspaces/${WORKSPACE}/threatintelligenceindicators:upload`);
    expect(upload.query.get('api-version')).toBe('2022-07-01');
    expect(Object.keys(JSON.parse(upload.body) as object)).toEqual(['sourcesystem', 'indicators']);
  });

  test('a crash between upload and marking re-uploads onto the same objects', async () => {
    await start();
    store = tempStore();
    queue(store, ipv4s(30), 'ti');
    await expect(drain(crashingOn(sentinel(), 2), store, 10)).rejects.toThrow('worker killed');
    expect(await drain(sentinel(), store, 10)).toMatchObject({ delivered: 20, pending: 0 });
    expect(fake.indicators.size).toBe(30);
  });

  test('a withdrawal delivered after a newer upsert was scored does not outrank it', async () => {
    await start();
    store = tempStore();
    const [a] = ipv4s(1);
    const now = Date.now();
    queue(store, [a!], 'ti', 70, now - 60_000);
    await drain(sentinel(), store);
    rescore(store, { ...a!, score: 10 }, 'ti', 70, now - 30_000);
    rescore(store, { ...a!, score: 95 }, 'ti', 70, now - 10_000);
    await drain(sentinel(), store);
    const stored = fake.indicators.get(`iocflow|${stixIndicatorId(`ipv4:${a!.value}`)}`)!;
    expect(stored.object).not.toHaveProperty('revoked');
    expect(fake.active()).toHaveLength(1);
  });
});
