import { afterEach, describe, expect, test } from 'vitest';
import { configSchema } from '../../src/config/index.js';
import { AuthRejectedError } from '../../src/http/failures.js';
import { createSink } from '../../src/sinks/index.js';
import type { Store } from '../../src/store/index.js';
import { startMispFake, type FakeEvent, type MispFake } from '../fakes/misp.js';
import { tempStore } from '../support/store.js';
import { crashingOn, drain, http, queue, rescore, type Queued } from './support.js';

let store: Store & { dir: string };
let fake: MispFake;
afterEach(async () => {
  store?.close();
  await fake?.close();
});

const EVENT = '5a3c2f5e-2f9c-4ad0-8fa0-46da02de0b81';
const events = (): FakeEvent[] => [
  {
    uuid: EVENT,
    info: 'Sednit update',
    timestamp: 1_700_000_000,
    Attribute: [
      { uuid: 'attr-0001', type: 'ip-dst', value: '185.25.50.93', to_ids: true, timestamp: 1_700_000_000 },
      {
        uuid: 'attr-0002',
        type: 'domain',
        value: 'Movieultimate.com',
        to_ids: true,
        timestamp: 1_700_000_000,
      },
      {
        uuid: 'attr-0003',
        type: 'ip-dst|port',
        value: '45.61.49.78|443',
        to_ids: true,
        timestamp: 1_700_000_000,
      },
    ],
  },
];
const fromMisp = (type: Queued['type'], value: string): Queued => ({
  type,
  value,
  source: 'misp-main',
  ref: EVENT,
});

function feedback(apiKey = 'misp-key') {
  const config = configSchema.parse({
    sources: { 'misp-main': { type: 'misp', url: fake.url, apiKey: 'misp-key' } },
    sinks: { back: { type: 'misp-feedback', url: fake.url, apiKey, sources: ['misp-main'] } },
  });
  return createSink('back', config.sinks.back!, { http });
}

describe('misp-feedback sink', () => {
  test('adds a sighting and score tags on the originating attribute; IOCs from elsewhere need nothing', async () => {
    fake = await startMispFake({ apiKey: 'misp-key', events: events() });
    store = tempStore();
    queue(
      store,
      [
        fromMisp('ipv4', '185.25.50.93'),
        fromMisp('domain', 'movieultimate.com'),
        fromMisp('ipv4', '45.61.49.78'),
        { type: 'ipv4', value: '9.9.9.1' },
      ],
      'back',
      0,
    );
    expect(await drain(feedback(), store)).toMatchObject({ delivered: 4, rejected: 0 });
    expect(fake.sightings.map((s) => [s.attributeUuid, s.type, s.source])).toEqual([
      ['attr-0001', '0', 'iocflow'],
      ['attr-0002', '0', 'iocflow'],
      ['attr-0003', '0', 'iocflow'],
    ]);
    expect(fake.attribute('attr-0001')!.Tag!.map((t) => t.name)).toEqual([
      'iocflow:score="90"',
      'iocflow:severity="critical"',
    ]);
    expect(fake.requests[0]!.headers.authorization).toBe('misp-key');
  });

  test('a re-score moves the score tag; a retried batch adds no second sighting; a withdrawal adds an expiration sighting', async () => {
    fake = await startMispFake({ apiKey: 'misp-key', events: events() });
    store = tempStore();
    const ioc = fromMisp('ipv4', '185.25.50.93');
    queue(store, [ioc], 'back', 50);
    await expect(drain(crashingOn(feedback(), 1), store)).rejects.toThrow('worker killed');
    await drain(feedback(), store);
    expect(fake.sightings).toHaveLength(1);
    rescore(store, { ...ioc, score: 60 }, 'back', 50);
    await drain(feedback(), store);
    expect(fake.attribute('attr-0001')!.Tag!.map((t) => t.name)).toEqual([
      'iocflow:score="60"',
      'iocflow:severity="medium"',
    ]);
    rescore(store, { ...ioc, score: 20 }, 'back', 50, 1_700_000_300_000);
    await drain(feedback(), store);
    expect(fake.sightings.map((s) => s.type)).toEqual(['0', '2']);
    expect(fake.attribute('attr-0001')!.Tag!.map((t) => t.name)).toContain('iocflow:score="20"');
  });

  test('a refused tag or a vanished attribute rejects that IOC only; a wrong key is an auth failure', async () => {
    fake = await startMispFake({ apiKey: 'misp-key', events: events() });
    store = tempStore();
    queue(
      store,
      [
        fromMisp('ipv4', '185.25.50.93'),
        fromMisp('domain', 'movieultimate.com'),
        fromMisp('ipv4', '1.1.1.9'),
      ],
      'back',
      0,
    );
    fake.refuseTags.add('iocflow:severity="critical"');
    const err = await drain(feedback('wrong-key'), store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthRejectedError);
    expect((err as Error).message).toContain('sinks.back.apiKey');
    expect(await drain(feedback(), store)).toMatchObject({ delivered: 0, rejected: 3 });
    const messages = store.sqlite.prepare('select message from deliveries order by outbox_id').all();
    expect(messages).toEqual([
      { message: expect.stringContaining('MISP tag: Could not attach') as string },
      { message: expect.stringContaining('MISP tag: Could not attach') as string },
      { message: `MISP holds no attribute with this value in event(s) ${EVENT}` },
    ]);
  });
});
