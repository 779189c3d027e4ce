import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AuthRejectedError, RateLimitedError, UnavailableError } from '../../src/http/failures.js';
import { startMispFake, type FakeEvent, type MispFake } from '../fakes/misp.js';
import { errors, pullAll, sourceFrom, values } from './support.js';

const KEY = 'a'.repeat(40);
/** Attribute times an hour ago: inside the first pull's default 30-day reach. */
const T = Math.floor(Date.now() / 1000) - 3600;
const attr = (n: number, ts: number, extra: Partial<FakeEvent['Attribute'][number]> = {}) => ({
  uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  type: 'ip-dst',
  value: `198.51.100.${n}`,
  to_ids: true,
  timestamp: ts,
  ...extra,
});

function events(): FakeEvent[] {
  return [
    {
      uuid: '5a3c2f5e-2f9c-4ad0-8fa0-46da02de0b81',
      info: 'Sednit update',
      timestamp: T + 100,
      Tag: [{ name: 'tlp:amber' }, { name: 'admiralty-scale:information-credibility="2"' }],
      Attribute: [
        attr(1, T + 0, { Tag: [{ name: 'osint:certainty="93"' }], comment: 'see also 203.0.113.1' }),
        attr(2, T + 10),
        attr(3, T + 20, { to_ids: false }),
        attr(4, T + 30),
        attr(5, T + 40),
      ],
      Object: [
        {
          name: 'domain-ip',
          Attribute: [attr(6, T + 50, { type: 'domain', value: 'evil-object.example.com' })],
        },
      ],
    },
  ];
}

describe('MISP source', () => {
  let misp: MispFake;
  const config = (extra: Record<string, unknown> = {}) =>
    sourceFrom('misp-main', { type: 'misp', url: misp.url, apiKey: KEY, pageSize: 2, ...extra });

  beforeAll(async () => {
    misp = await startMispFake({ apiKey: KEY, events: events() });
  });
  afterAll(() => misp.close());

  test('pages attributes with limit/page until a short page, to_ids only, tags and confidence kept', async () => {
    misp.requests.length = 0;
    const { pages, memory } = await pullAll(config());
    expect(values(pages)).toEqual([
      '198.51.100.1',
      '198.51.100.2',
      '198.51.100.4',
      '198.51.100.5',
      'evil-object.example.com',
    ]);
    expect(misp.requests.map((r) => JSON.parse(r.body) as { page: number; limit: number })).toMatchObject([
      { page: 1, limit: 2, to_ids: 1, includeEventTags: true },
      { page: 2 },
      { page: 3 },
    ]);
    expect(misp.requests[0]!.headers.authorization).toBe(KEY);
    expect(misp.requests[0]!.headers.accept).toBe('application/json');
    expect(misp.requests[0]!.headers['content-type']).toBe('application/json');
    const first = pages[0]!.entries[0]!;
    expect(first).toMatchObject({
      typeHint: 'ip-dst',
      ref: '5a3c2f5e-2f9c-4ad0-8fa0-46da02de0b81',
      // With includeEventTags the event's admiralty 2 (80) sits beside the attribute's certainty 93: the
      // lower one wins, a doubt stated anywhere is kept.
      confidence: 80,
    });
    expect(first.tags).toEqual(expect.arrayContaining(['tlp:amber', 'osint:certainty="93"']));
    expect(pages[0]!.entries[1]!.confidence).toBe(80);
    expect(memory.watermark).toBe(String(T + 50));
  });

  test('events scope reads event and object attributes', async () => {
    const { pages } = await pullAll(config({ scope: 'events' }));
    expect(values(pages)).toEqual([
      '198.51.100.1',
      '198.51.100.2',
      '198.51.100.4',
      '198.51.100.5',
      'evil-object.example.com',
    ]);
  });

  test('second pull sends the watermark as timestamp and gets only newer attributes', async () => {
    const source = config();
    const first = await pullAll(source);
    misp.events[0]!.Attribute.push(attr(7, T + 500));
    misp.requests.length = 0;
    const second = await pullAll(source, first.memory).finally(() => misp.events[0]!.Attribute.pop());
    expect((JSON.parse(misp.requests[0]!.body) as { timestamp: string }).timestamp).toBe(String(T + 50));
    // MISP's timestamp filter includes its second: the boundary attribute comes again, harmlessly.
    expect(values(second.pages)).toEqual(['198.51.100.7', 'evil-object.example.com']);
    expect(second.memory.watermark).toBe(String(T + 500));
  });

  test('a resumed pull starts after the last stored page and keeps the watermark it carried', async () => {
    const full = await pullAll(config());
    misp.requests.length = 0;
    const resumed = await pullAll(config(), {}, full.pages[0]!.cursor);
    expect(misp.requests.map((r) => (JSON.parse(r.body) as { page: number }).page)).toEqual([2, 3]);
    expect(values(resumed.pages)).toEqual(['198.51.100.4', '198.51.100.5', 'evil-object.example.com']);
    expect(resumed.memory.watermark).toBe(String(T + 50));
  });

  test('a wrong key is an AuthRejectedError naming the config key, without the key', async () => {
    const err = await pullAll(
      sourceFrom('misp-main', { type: 'misp', url: misp.url, apiKey: 'wrong-key-123' }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthRejectedError);
    expect((err as Error).message).toContain('sources.misp-main.apiKey');
    expect((err as Error).message).not.toContain('wrong-key-123');
  });

  test('a malformed page keeps its good attributes; errors name source and position', async () => {
    misp.rawNext.push(
      JSON.stringify({
        response: {
          Attribute: [
            attr(1, 1),
            { value: 'no type', to_ids: true },
            attr(2, 2, { value: 'x\ufffdy' }),
            attr(3, 3),
          ],
        },
      }),
    );
    const { pages } = await pullAll(config({ pageSize: 10 }));
    expect(values(pages)).toEqual(['198.51.100.1', '198.51.100.3']);
    expect(errors(pages).map((e) => e.position)).toEqual([
      'misp-main page 1, attribute 2',
      'misp-main page 1, attribute 3',
    ]);
  });

  test('an HTML page with status 200 fails the pull with a message naming the source', async () => {
    misp.faults.html = true;
    try {
      await expect(pullAll(config())).rejects.toThrow(/source misp-main: the response is an HTML page/);
    } finally {
      misp.faults.html = false;
    }
  });

  test('5xx and a slow server are retryable failures', async () => {
    misp.faults.status = 503;
    await expect(pullAll(config())).rejects.toBeInstanceOf(UnavailableError);
    misp.faults.status = undefined;
    misp.faults.delayMs = 500;
    try {
      await expect(pullAll(config({ timeoutMs: 100 }))).rejects.toThrow(/timed out/);
    } finally {
      misp.faults.delayMs = undefined;
    }
  });

  test('a body cut in half keeps what was read and does not move the watermark', async () => {
    misp.faults.truncate = true;
    try {
      const { pages, memory } = await pullAll(config({ pageSize: 100 }), { watermark: '1' });
      expect(errors(pages).at(-1)!.message).toMatch(/broke off|ends early|not valid JSON/);
      expect(memory.watermark).toBe('1');
    } finally {
      misp.faults.truncate = false;
    }
  });
});

describe('MISP source, published events only', () => {
  let misp: MispFake;
  const EARLY = '00000000-0000-4000-8000-00000000e001';
  const DRAFT = '00000000-0000-4000-8000-00000000e002';
  /** An event published at T + 200, and a draft whose attributes are older than anything published. */
  const publishing = (): FakeEvent[] => [
    {
      uuid: EARLY,
      info: 'published',
      timestamp: T + 100,
      publish_timestamp: T + 200,
      Attribute: [attr(1, T + 50), attr(2, T + 100)],
    },
    { uuid: DRAFT, info: 'draft', timestamp: T - 500, published: false, Attribute: [attr(3, T - 500)] },
  ];
  const config = (extra: Record<string, unknown> = {}) =>
    sourceFrom('misp-main', {
      type: 'misp',
      url: misp.url,
      apiKey: KEY,
      pageSize: 10,
      publishedOnly: true,
      ...extra,
    });
  const sent = () => misp.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>);
  /** The first-pull reach (30 days back) as the epoch second a request sent. */
  const reach = () => Math.floor(Date.now() / 1000) - 30 * 86400;

  beforeAll(async () => {
    misp = await startMispFake({ apiKey: KEY, events: [] });
  });
  afterAll(() => misp.close());

  test.each(['attributes', 'events'])(
    '%s scope: a draft published after the watermark passed its attributes is pulled once published',
    async (scope) => {
      misp.events.splice(0, misp.events.length, ...publishing());
      const first = await pullAll(config({ scope }));
      expect(values(first.pages)).toEqual(['198.51.100.1', '198.51.100.2']);
      expect(first.memory.watermark).toBe(`publish_timestamp:${T + 200}`);

      Object.assign(misp.events[1]!, { published: true, publish_timestamp: T + 300 });
      misp.requests.length = 0;
      const second = await pullAll(config({ scope }), first.memory);
      expect(sent()[0]).toMatchObject({ published: true, publish_timestamp: String(T + 200) });
      expect(sent()[0]).not.toHaveProperty('timestamp');
      // The filter includes its second: the event published at the watermark comes again, harmlessly.
      expect(values(second.pages)).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.3']);
      expect(second.memory.watermark).toBe(`publish_timestamp:${T + 300}`);
    },
  );

  test("a watermark of the other mode is not read as this mode's: the pull starts from the first-pull reach", async () => {
    misp.events.splice(0, misp.events.length, ...publishing());
    misp.requests.length = 0;
    // A `timestamp` watermark (plain epoch seconds) under publishedOnly…
    const published = await pullAll(config(), { watermark: String(T + 1000) });
    const asked = Number(sent()[0]!.publish_timestamp);
    expect(Math.abs(asked - reach())).toBeLessThan(60);
    expect(values(published.pages)).toEqual(['198.51.100.1', '198.51.100.2']);

    // …and a `publish_timestamp` one under the default mode.
    misp.requests.length = 0;
    const modified = await pullAll(config({ publishedOnly: false }), {
      watermark: `publish_timestamp:${T + 1000}`,
    });
    expect(sent()[0]).not.toHaveProperty('publish_timestamp');
    expect(Math.abs(Number(sent()[0]!.timestamp) - reach())).toBeLessThan(60);
    expect(values(modified.pages)).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.3']);
    expect(modified.memory.watermark).toBe(String(T + 100));
  });

  test('a cursor resumes only under the mode that wrote it, with the filter it started with', async () => {
    misp.events.splice(0, misp.events.length, ...publishing());
    const pageOne = async (extra: Record<string, unknown>) =>
      (await pullAll(config({ pageSize: 1, ...extra }), { watermark: undefined })).pages[0]!.cursor;
    const publishedCursor = await pageOne({});
    const modifiedCursor = await pageOne({ publishedOnly: false });

    misp.requests.length = 0;
    await pullAll(config({ pageSize: 1 }), {}, publishedCursor);
    expect(sent()[0]).toMatchObject({ page: 2 });
    expect(Math.abs(Number(sent()[0]!.publish_timestamp) - reach())).toBeLessThan(60);

    // The other mode's cursor starts the pull over.
    misp.requests.length = 0;
    const over = await pullAll(
      config({ pageSize: 1 }),
      { watermark: `publish_timestamp:${T}` },
      modifiedCursor,
    );
    expect(sent()[0]).toMatchObject({ page: 1, publish_timestamp: String(T) });
    expect(over.memory.watermark).toBe(`publish_timestamp:${T + 200}`);
  });
});

describe('MISP source against a rate-limited MISP', () => {
  test("a 429 fails the pull with a RateLimitedError that waits for MISP's window to reset", async () => {
    const window = 900;
    const misp = await startMispFake({
      apiKey: KEY,
      events: events(),
      rateLimit: { requests: 1, windowSeconds: window },
    });
    try {
      const source = sourceFrom('misp-main', { type: 'misp', url: misp.url, apiKey: KEY, pageSize: 2 });
      const err = await pullAll(source).catch((e: unknown) => e);
      expect(misp.requests.map((r) => r.status)).toEqual([200, 429]);
      expect(err).toBeInstanceOf(RateLimitedError);
      const waitMs = (err as RateLimitedError).retryAfterMs!;
      // X-Rate-Limit-Reset counts whole seconds from the window's first call a moment ago.
      expect(waitMs % 1000).toBe(0);
      expect(waitMs).toBeLessThanOrEqual(window * 1000);
      expect(waitMs).toBeGreaterThan((window - 10) * 1000);
    } finally {
      await misp.close();
    }
  });
});
