import { afterEach, describe, expect, test } from 'vitest';
import { configSchema } from '../../src/config/index.js';
import { AuthRejectedError, UnavailableError } from '../../src/http/failures.js';
import { createSink } from '../../src/sinks/index.js';
import type { Store } from '../../src/store/index.js';
import { startSplunkHecFake, type HecFake } from '../fakes/splunk-hec.js';
import { tempStore } from '../support/store.js';
import { crashingOn, deliveredCount, drain, http, ipv4s, queue, rescore } from './support.js';

let store: Store & { dir: string };
let fake: HecFake;
afterEach(async () => {
  store?.close();
  await fake?.close();
});

function hec(extra: Record<string, unknown> = {}) {
  const config = configSchema.parse({
    sinks: {
      hec: { type: 'splunk-hec', url: fake.url, token: 'good-token', index: 'threat_intel', ...extra },
    },
  });
  return createSink('hec', config.sinks.hec!, { http, sleep: () => new Promise((r) => setTimeout(r, 5)) });
}

describe('splunk-hec sink', () => {
  test('sends each IOC once as an event with Splunk auth, sourcetype ioc:enriched and a delivery_id', async () => {
    fake = await startSplunkHecFake({ tokens: { 'good-token': { indexes: ['threat_intel'] } } });
    store = tempStore();
    queue(store, ipv4s(25), 'hec');
    expect(await drain(hec({ batchSize: 10 }), store, 10)).toMatchObject({
      delivered: 25,
      batches: 3,
      pending: 0,
    });
    expect(fake.requests[0]!.headers.authorization).toBe('Splunk good-token');
    expect(fake.events).toHaveLength(25);
    expect(fake.deliveryIds().size).toBe(25);
    expect(fake.events[0]).toMatchObject({
      sourcetype: 'ioc:enriched',
      source: 'iocflow',
      index: 'threat_intel',
      event: {
        action: 'add',
        type: 'ipv4',
        value: '45.0.0.0',
        score: 90,
        severity: 'critical',
        sources: ['feed'],
      },
      fields: { action: 'add' },
    });
    expect(await drain(hec({ batchSize: 10 }), store, 10)).toMatchObject({ delivered: 0, batches: 0 });
    expect(fake.events).toHaveLength(25);
  });

  test('a re-scored IOC goes out once more, a dropped one once as a withdrawal', async () => {
    fake = await startSplunkHecFake({ tokens: { 'good-token': {} } });
    store = tempStore();
    const [a, b] = ipv4s(2);
    queue(store, [a!, b!], 'hec');
    await drain(hec(), store);
    rescore(store, { ...a!, score: 80 }, 'hec');
    rescore(store, { ...b!, score: 30 }, 'hec');
    await drain(hec(), store);
    await drain(hec(), store);
    expect(fake.events.map((e) => [e.event.value, e.event.action, e.event.score])).toEqual([
      [a!.value, 'add', 90],
      [b!.value, 'add', 90],
      [a!.value, 'add', 80],
      [b!.value, 'withdraw', 30],
    ]);
  });

  test('a wrong token is an auth failure that names the config key, never the token', async () => {
    fake = await startSplunkHecFake({ tokens: { 'other-token': {} } });
    store = tempStore();
    queue(store, ipv4s(3), 'hec');
    const err = await drain(hec(), store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthRejectedError);
    expect((err as Error).message).toContain('sinks.hec.token');
    expect((err as Error).message).not.toContain('good-token');
    expect(deliveredCount(store)).toBe(0);
  });

  test('an event Splunk refuses is rejected; the events around it are indexed once', async () => {
    fake = await startSplunkHecFake({ tokens: { 'good-token': {} } });
    store = tempStore();
    const iocs = ipv4s(5);
    queue(store, iocs, 'hec');
    fake.invalidValues.add(iocs[2]!.value);
    expect(await drain(hec(), store)).toMatchObject({ delivered: 4, rejected: 1, pending: 0 });
    expect(fake.events).toHaveLength(4);
    expect(fake.posts).toBe(2);
    const row = store.sqlite.prepare("select message from deliveries where outcome = 'rejected'").get();
    expect(row).toEqual({ message: 'Splunk HEC: Invalid data format' });
  });

  test('requests stay under maxRequestBytes', async () => {
    fake = await startSplunkHecFake({ tokens: { 'good-token': {} }, maxContentLength: 4096 });
    store = tempStore();
    queue(store, ipv4s(30), 'hec');
    expect(await drain(hec({ maxRequestBytes: 4096 }), store)).toMatchObject({ delivered: 30 });
    expect(fake.posts).toBeGreaterThanOrEqual(5);
    expect(fake.requests.every((r) => Buffer.byteLength(r.body) <= 4096)).toBe(true);
  });

  test('503 settles what went through and is retried; the retry sends only the rest', async () => {
    fake = await startSplunkHecFake({ tokens: { 'good-token': {} } });
    store = tempStore();
    queue(store, ipv4s(30), 'hec');
    fake.script({ status: 503, body: { text: 'Server is busy', code: 9 } });
    // One batch of 30 in three requests of 10: the first is refused, nothing settles, the retry sends all.
    await expect(drain(hec({ maxRequestBytes: 6000 }), store)).rejects.toBeInstanceOf(UnavailableError);
    expect(await drain(hec({ maxRequestBytes: 6000 }), store)).toMatchObject({ pending: 0 });
    expect(fake.events).toHaveLength(30);
    expect(fake.deliveryIds().size).toBe(30);
  });

  test('with indexer acknowledgement, a batch counts only once acked; a crash before marking is recovered from the ack', async () => {
    fake = await startSplunkHecFake({ tokens: { 'good-token': { useAck: true } }, ackDelayMs: 30 });
    store = tempStore();
    queue(store, ipv4s(20), 'hec');
    const sink = hec({ ack: { enabled: true, pollIntervalMs: 10 } });
    await expect(drain(crashingOn(sink, 2), store, 10)).rejects.toThrow('worker killed');
    expect(deliveredCount(store)).toBe(10);
    expect(await drain(sink, store, 10)).toMatchObject({ delivered: 10, pending: 0 });
    // The crashed batch was acknowledged meanwhile: the retry settled it without sending it again.
    expect(fake.events).toHaveLength(20);
    expect(fake.requests.filter((r) => r.path.endsWith('/ack')).length).toBeGreaterThan(2);
    expect(fake.requests[0]!.headers['x-splunk-request-channel']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('an ack that comes after the wait is found by the retry, which then sends nothing again', async () => {
    fake = await startSplunkHecFake({ tokens: { 'good-token': { useAck: true } }, ackDelayMs: 300 });
    store = tempStore();
    queue(store, ipv4s(10), 'hec');
    const sink = hec({ ack: { enabled: true, pollIntervalMs: 20, timeoutMs: 100 } });
    await expect(drain(sink, store)).rejects.toBeInstanceOf(UnavailableError);
    expect(deliveredCount(store)).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(await drain(sink, store)).toMatchObject({ delivered: 10, pending: 0 });
    expect(fake.posts).toBe(1);
    expect(fake.events).toHaveLength(10);
  });
});
