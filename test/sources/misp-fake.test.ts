import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startMispFake, type FakeEvent, type MispFake } from '../fakes/misp.js';

// The MISP fake's search filters, deletion and rate limit, as vendor-apis.md §1.2, §1.3 and §1.6 describe
// them: the source and sink tests lean on these answering as MISP does.

const KEY = 'k'.repeat(40);
const NOW = Math.floor(Date.now() / 1000);
const HOUR = 3600;
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const attr = (n: number, timestamp: number, extra: Record<string, unknown> = {}) => ({
  uuid: uuid(n),
  type: 'ip-dst',
  value: `198.51.100.${n}`,
  to_ids: true,
  timestamp,
  ...extra,
});

function events(): FakeEvent[] {
  return [
    // Published long after its attributes were last touched.
    {
      uuid: uuid(101),
      info: 'published late',
      timestamp: NOW - 10 * HOUR,
      publish_timestamp: NOW - HOUR,
      Attribute: [attr(1, NOW - 10 * HOUR)],
    },
    // Published when last edited (publish_timestamp defaults to its timestamp).
    {
      uuid: uuid(102),
      info: 'published early',
      timestamp: NOW - 5 * HOUR,
      Attribute: [attr(2, NOW - 5 * HOUR)],
    },
    // A draft: publish_timestamp 0. Edited well inside the last two hours: a relative filter is computed
    // when the request arrives, later than NOW, and must not find it on its edge.
    {
      uuid: uuid(103),
      info: 'draft',
      timestamp: NOW - 1.5 * HOUR,
      published: false,
      Attribute: [attr(3, NOW - 1.5 * HOUR)],
    },
    {
      uuid: uuid(104),
      info: 'with deletions',
      timestamp: NOW - 3 * HOUR,
      Attribute: [attr(4, NOW - 3 * HOUR), attr(5, NOW - 3 * HOUR, { deleted: true })],
      Object: [
        { name: 'live', uuid: uuid(201), Attribute: [attr(6, NOW - 3 * HOUR)] },
        { name: 'gone', uuid: uuid(202), deleted: true, Attribute: [attr(7, NOW - 3 * HOUR)] },
      ],
    },
  ];
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

describe('MISP fake', () => {
  let misp: MispFake;
  beforeAll(async () => {
    misp = await startMispFake({ apiKey: KEY, events: events() });
  });
  afterAll(() => misp.close());

  async function search(scope: 'attributes' | 'events', filters: Record<string, unknown>): Promise<Answer> {
    const response = await fetch(`${misp.url}/${scope}/restSearch`, {
      method: 'POST',
      headers: { authorization: KEY, accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify({ returnFormat: 'json', ...filters }),
    });
    return { status: response.status, headers: response.headers, body: await response.json() };
  }

  const attributeValues = async (filters: Record<string, unknown>) => {
    const { body } = await search('attributes', filters);
    return (body as { response: { Attribute: { value: string }[] } }).response.Attribute.map((a) => a.value);
  };
  type EventJson = {
    uuid: string;
    publish_timestamp: string;
    Attribute: { value: string; deleted: boolean }[];
    Object: { name: string; Attribute: { value: string; deleted: boolean }[] }[];
  };
  const eventsOf = async (filters: Record<string, unknown>) =>
    ((await search('events', filters)).body as { response: { Event: EventJson }[] }).response.map(
      (r) => r.Event,
    );

  test('publish_timestamp filters on when the event was published, as epoch, relative or range, both scopes', async () => {
    expect(await attributeValues({ publish_timestamp: String(NOW - 2 * HOUR) })).toEqual(['198.51.100.1']);
    expect(await attributeValues({ publish_timestamp: '2h' })).toEqual(['198.51.100.1']);
    expect(await attributeValues({ publish_timestamp: ['6h', '4h'] })).toEqual(['198.51.100.2']);
    expect((await eventsOf({ publish_timestamp: NOW - 2 * HOUR })).map((e) => e.uuid)).toEqual([uuid(101)]);
    expect((await eventsOf({ publish_timestamp: ['6h', '4h'] })).map((e) => e.uuid)).toEqual([uuid(102)]);
    // `timestamp` still means the last modification: the late-published event is not in the last hours.
    expect(await attributeValues({ timestamp: '2h' })).toEqual(['198.51.100.3']);
  });

  test('events and their attributes carry publish_timestamp: when published, 0 for a draft', async () => {
    const all = await eventsOf({});
    expect(all.map((e) => e.publish_timestamp)).toEqual([
      String(NOW - HOUR),
      String(NOW - 5 * HOUR),
      '0',
      String(NOW - 3 * HOUR),
    ]);
    const { body } = await search('attributes', { value: '198.51.100.1' });
    const [row] = (body as { response: { Attribute: { Event: { publish_timestamp: string } }[] } }).response
      .Attribute;
    expect(row!.Event.publish_timestamp).toBe(String(NOW - HOUR));
    expect(await attributeValues({ published: true })).not.toContain('198.51.100.3');
    expect(await attributeValues({ published: false })).toEqual(['198.51.100.3']);
  });

  test('event_timestamp (attributes scope) filters on when the event was last modified', async () => {
    expect(await attributeValues({ event_timestamp: '4h' })).toEqual([
      '198.51.100.3',
      '198.51.100.4',
      '198.51.100.6',
    ]);
  });

  test('deleted attributes and attributes of deleted objects stay out of both scopes unless `deleted` asks', async () => {
    const live = ['198.51.100.4', '198.51.100.6'];
    const withDeletions = (await eventsOf({})).find((e) => e.uuid === uuid(104))!;
    expect(withDeletions.Attribute.map((a) => a.value)).toEqual(['198.51.100.4']);
    expect(withDeletions.Object.map((o) => o.name)).toEqual(['live']);
    expect(await attributeValues({ uuid: uuid(104) })).toEqual(live);

    const onlyDeleted = (await eventsOf({ deleted: 1 })).find((e) => e.uuid === uuid(104))!;
    expect(onlyDeleted.Attribute).toMatchObject([{ value: '198.51.100.5', deleted: true }]);
    expect(onlyDeleted.Object).toMatchObject([
      { name: 'gone', Attribute: [{ value: '198.51.100.7', deleted: true }] },
    ]);
    const both = await attributeValues({ deleted: [0, 1], uuid: uuid(104) });
    expect(both.sort()).toEqual(['198.51.100.4', '198.51.100.5', '198.51.100.6', '198.51.100.7']);
    const { body } = await search('attributes', { deleted: 1, uuid: uuid(104) });
    const rows = (body as { response: { Attribute: { value: string; deleted: boolean }[] } }).response
      .Attribute;
    expect(rows.map((a) => [a.value, a.deleted])).toEqual([
      ['198.51.100.5', true],
      ['198.51.100.7', true],
    ]);
  });

  test('rate-limit mode: restSearch per key in a window, 429 with MISP envelope and X-Rate-Limit-* headers', async () => {
    misp.rateLimit = { requests: 2, windowSeconds: 60 };
    try {
      const first = await search('attributes', {});
      expect(first.status).toBe(200);
      expect(first.headers.get('x-rate-limit-limit')).toBe('2');
      expect(first.headers.get('x-rate-limit-remaining')).toBe('1');
      expect(first.headers.get('x-rate-limit-reset')).toBe('60');
      expect((await search('events', {})).headers.get('x-rate-limit-remaining')).toBe('0');
      const refused = await search('attributes', {});
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({
        name: 'Rate limit exceeded.',
        message: 'Rate limit exceeded.',
        url: '/attributes/restSearch',
      });
      expect(refused.headers.get('x-rate-limit-remaining')).toBe('0');
      expect(Number(refused.headers.get('x-rate-limit-reset'))).toBeGreaterThan(55);
      expect(Number(refused.headers.get('x-rate-limit-reset'))).toBeLessThanOrEqual(60);
      // Only the searches are limited.
      const sighting = await fetch(`${misp.url}/sightings/add`, {
        method: 'POST',
        headers: { authorization: KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ value: '198.51.100.1' }),
      });
      expect(sighting.status).toBe(200);
      expect(sighting.headers.get('x-rate-limit-limit')).toBeNull();

      // The window ends and the count starts again.
      misp.rateLimit = { requests: 1, windowSeconds: 1 };
      expect((await search('attributes', {})).status).toBe(200);
      expect((await search('attributes', {})).status).toBe(429);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await search('attributes', {})).status).toBe(200);
    } finally {
      misp.rateLimit = undefined;
    }
  });
});
