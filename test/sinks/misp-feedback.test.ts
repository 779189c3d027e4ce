import { afterEach, describe, expect, test } from 'vitest';
import { configSchema } from '../../src/config/index.js';
import { AuthRejectedError, RateLimitedError } from '../../src/http/failures.js';
import { createSink } from '../../src/sinks/index.js';
import { ENRICHMENT_OBJECT, enrichmentObjectUuid } from '../../src/sinks/misp-feedback.js';
import { findIoc, storeLookup, type Store } from '../../src/store/index.js';
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

function feedback(apiKey = 'misp-key', extra: Record<string, unknown> = {}) {
  const config = configSchema.parse({
    sources: { 'misp-main': { type: 'misp', url: fake.url, apiKey: 'misp-key' } },
    sinks: { back: { type: 'misp-feedback', url: fake.url, apiKey, sources: ['misp-main'], ...extra } },
  });
  return createSink('back', config.sinks.back!, { http });
}

const asObject = (apiKey = 'misp-key') => feedback(apiKey, { mode: 'object' });

/** The live (not deleted) attributes of an object as relation → values. */
function relations(uuid: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const a of fake.object(uuid)!.object.Attribute.filter((x) => !x.deleted))
    (out[a.object_relation!] ??= []).push(a.value);
  return out;
}

/** Gives an IOC vendor verdicts, as enrichment would have stored them. */
function enrich(value: string): void {
  const ioc = findIoc(store.db, `ipv4:${value}`)!;
  storeLookup(store.db, ioc.id, 'virustotal', { outcome: 'not_found' }, 1_700_000_050_000);
  storeLookup(
    store.db,
    ioc.id,
    'abuseipdb',
    {
      outcome: 'ok',
      verdict: {
        vendor: 'abuseipdb',
        abuseConfidenceScore: 97,
        totalReports: 120,
        distinctReporters: 40,
        isWhitelisted: false,
        isTor: false,
      },
    },
    1_700_000_050_000,
  );
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

  test("a rate-limited restSearch is a RateLimitedError that waits for MISP's window to reset", async () => {
    fake = await startMispFake({
      apiKey: 'misp-key',
      events: events(),
      rateLimit: { requests: 1, windowSeconds: 900 },
    });
    store = tempStore();
    queue(store, [fromMisp('ipv4', '185.25.50.93')], 'back', 0);
    expect(await drain(feedback(), store)).toMatchObject({ delivered: 1 });
    queue(store, [fromMisp('domain', 'movieultimate.com')], 'back', 0);
    const err = await drain(feedback(), store).catch((e: unknown) => e);
    expect(fake.requests.at(-1)).toMatchObject({ path: '/attributes/restSearch', status: 429 });
    expect(err).toBeInstanceOf(RateLimitedError);
    // X-Rate-Limit-Reset: whole seconds left of the 900-second window the first search opened.
    const waitMs = (err as RateLimitedError).retryAfterMs!;
    expect(waitMs % 1000).toBe(0);
    expect(waitMs).toBeLessThanOrEqual(900_000);
    expect(waitMs).toBeGreaterThan(890_000);
  });

  describe('mode: object', () => {
    const objectOf = (attributeUuid: string) => enrichmentObjectUuid('iocflow', attributeUuid);

    test('writes one iocflow-enrichment object beside the attribute, with a sighting and no tags', async () => {
      fake = await startMispFake({ apiKey: 'misp-key', events: events() });
      store = tempStore();
      queue(store, [fromMisp('ipv4', '185.25.50.93'), { type: 'ipv4', value: '9.9.9.1' }], 'back', 0);
      enrich('185.25.50.93');
      expect(await drain(asObject(), store)).toMatchObject({ delivered: 2, rejected: 0 });

      const found = fake.object(objectOf('attr-0001'))!;
      expect(found.event.uuid).toBe(EVENT);
      expect(found.object).toMatchObject({
        name: ENRICHMENT_OBJECT,
        'meta-category': 'misc',
        distribution: '5',
      });
      expect(relations(objectOf('attr-0001'))).toEqual({
        score: ['90'],
        severity: ['critical'],
        confidence: [expect.stringMatching(/^\d+$/) as string],
        explanation: [expect.stringContaining('(+') as string],
        verdict: ['abuseipdb: confidence 97, 120 reports by 40', 'virustotal: unknown to the vendor'],
        'scored-at': [new Date(1_700_000_100_000).toISOString()],
      });
      // Context, not detections: never to IDS, never correlated.
      expect(found.object.Attribute.every((a) => !a.to_ids && a.disable_correlation)).toBe(true);
      expect(fake.attribute('attr-0001')!.Tag ?? []).toEqual([]);
      expect(fake.sightings.map((x) => x.attributeUuid)).toEqual(['attr-0001']);
      const add = fake.requests.find((r) => r.path.startsWith('/objects/add/'))!;
      expect(add.path).toBe(`/objects/add/${EVENT}`);
      expect(add.headers.authorization).toBe('misp-key');
      expect(add.headers['content-type']).toContain('application/json');
    });

    test('a resend finds the object and changes nothing; a re-score edits it in place', async () => {
      fake = await startMispFake({ apiKey: 'misp-key', events: events() });
      store = tempStore();
      const ioc = fromMisp('ipv4', '185.25.50.93');
      queue(store, [ioc], 'back', 0);
      enrich(ioc.value);
      // The first attempt writes the object and dies before marking: the retry must not add a second.
      await expect(drain(crashingOn(asObject(), 1), store)).rejects.toThrow('worker killed');
      expect(await drain(asObject(), store)).toMatchObject({ delivered: 1 });
      const writes = () => fake.requests.filter((r) => /^\/objects\/(add|edit)\//.test(r.path)).length;
      expect(writes()).toBe(1);
      const event = fake.events[0]!;
      expect(event.Object).toHaveLength(1);

      const uuid = objectOf('attr-0001');
      const before = new Map(fake.object(uuid)!.object.Attribute.map((a) => [a.object_relation, a.uuid]));
      rescore(store, { ...ioc, score: 60 }, 'back', 0, 1_700_000_250_000);
      await drain(asObject(), store);
      expect(event.Object).toHaveLength(1);
      expect(fake.requests.filter((r) => r.path === `/objects/edit/${uuid}`)).toHaveLength(1);
      expect(relations(uuid)).toMatchObject({
        score: ['60'],
        severity: ['medium'],
        'scored-at': [new Date(1_700_000_250_000).toISOString()],
      });
      // Updated in place: the same attribute UUIDs, nothing left behind.
      const after = fake.object(uuid)!.object.Attribute;
      expect(after.find((a) => a.object_relation === 'score')!.uuid).toBe(before.get('score'));
      expect(after.filter((a) => a.deleted)).toEqual([]);
    });

    test('a verdict that went away is removed from the object, not left behind', async () => {
      fake = await startMispFake({ apiKey: 'misp-key', events: events() });
      store = tempStore();
      const ioc = fromMisp('ipv4', '185.25.50.93');
      queue(store, [ioc], 'back', 0);
      enrich(ioc.value);
      await drain(asObject(), store);
      store.sqlite.prepare("delete from enrichments where vendor = 'virustotal'").run();
      rescore(store, { ...ioc, score: 80 }, 'back', 0, 1_700_000_250_000);
      await drain(asObject(), store);
      expect(relations(objectOf('attr-0001')).verdict).toEqual([
        'abuseipdb: confidence 97, 120 reports by 40',
      ]);
    });

    test('a wrong key is an auth failure; an object a MISP user deleted stays deleted, rejecting that IOC only', async () => {
      fake = await startMispFake({ apiKey: 'misp-key', events: events() });
      store = tempStore();
      queue(store, [fromMisp('ipv4', '185.25.50.93'), fromMisp('domain', 'movieultimate.com')], 'back', 0);
      // A MISP user deleted the object an earlier delivery wrote for the second attribute.
      fake.events[0]!.Object = [
        { name: 'other', uuid: objectOf('attr-0002'), id: '99', deleted: true, Attribute: [] },
      ];
      const err = await drain(asObject('wrong-key'), store).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthRejectedError);
      expect(await drain(asObject(), store)).toMatchObject({ delivered: 1, rejected: 1 });
      const messages = store.sqlite
        .prepare("select message from deliveries where outcome = 'rejected'")
        .all();
      expect(messages).toEqual([
        { message: `MISP object ${objectOf('attr-0002')} was deleted in MISP; not recreated` },
      ]);
    });

    test('the fake object API answers as MISP does: auth, methods, unknown event or object, validation', async () => {
      fake = await startMispFake({ apiKey: 'misp-key', events: events() });
      const call = (method: 'GET' | 'POST', path: string, json?: unknown, key = 'misp-key') =>
        http(`${fake.url}${path}`, {
          method,
          headers: { authorization: key, accept: 'application/json' },
          ...(json === undefined ? {} : { json }),
          responseType: 'json',
        });
      const attribute = { object_relation: 'score', type: 'counter', category: 'Other', value: '85' };
      expect((await call('POST', `/objects/add/${EVENT}`, { Object: { name: 'x' } }, 'bad')).statusCode).toBe(
        403,
      );
      expect((await call('GET', `/objects/add/${EVENT}`)).statusCode).toBe(405);
      expect((await call('GET', '/objects/view/4b1b6e8e-0000-4000-8000-000000000000')).body).toMatchObject({
        message: 'Invalid object.',
      });
      expect(
        (await call('POST', '/objects/add/999', { Object: { name: 'x', Attribute: [attribute] } })).body,
      ).toEqual({ name: 'Invalid event.', message: 'Invalid event.', url: '/objects/add' });
      const empty = await call('POST', `/objects/add/${EVENT}`, { Object: { name: 'x' } });
      expect(empty.statusCode).toBe(403);
      expect(empty.body).toMatchObject({
        saved: false,
        errors: 'Could not save the object as no attributes were set.',
      });
      const bad = await call('POST', `/objects/add/${EVENT}`, {
        Object: { name: 'x' },
        Attribute: [{ ...attribute, value: 'high' }],
      });
      expect(bad.body).toMatchObject({
        saved: false,
        errors: expect.stringContaining('failed validation (score)') as string,
      });
      // Attributes beside Object or inside it, by event id or uuid; the answer is the stored object.
      const added = await call('POST', '/objects/add/1000', {
        Object: { name: 'x', Attribute: [attribute] },
      });
      expect(added.body).toMatchObject({
        Object: {
          name: 'x',
          event_id: '1000',
          deleted: false,
          Attribute: [{ object_relation: 'score', value: '85' }],
        },
      });
      const uuid = (added.body as { Object: { uuid: string } }).Object.uuid;
      expect((await call('GET', `/objects/view/${uuid}`)).body).toEqual(added.body);
    });
  });
});
