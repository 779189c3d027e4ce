import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { collect } from '../../src/pipeline/collect.js';
import type { SourceReport } from '../../src/shared/messages.js';
import { HTML_PAGE } from '../fakes/faults.js';
import { http, sourceFrom } from '../sources/support.js';
import { tempStore } from '../support/store.js';

// Hostile responses from a loopback server, each through a real source and `collect` into a fresh store:
// the source names what broke and where, the good entries around it are stored, memory stays bounded.

const GOOD = ['185.220.101.47', '45.155.205.233', '91.92.109.43'];
const GiB = 1024 ** 3;

/** A body produced as it is read: `total` bytes of `fill`, with `head` before and `tail` after. */
function generated(head: string, fill: number, total: number, tail: string): Readable {
  let sent = 0;
  const chunk = Buffer.alloc(1 << 16, fill);
  let stage = 0;
  return new Readable({
    read() {
      if (stage === 0) {
        stage = 1;
        this.push(head);
      } else if (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      } else if (stage === 1) {
        stage = 2;
        this.push(tail);
      } else this.push(null);
    },
  });
}

const indicator = (i: number, ip: string) =>
  JSON.stringify({
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    pattern: `[ipv4-addr:value = '${ip}']`,
    pattern_type: 'stix',
    valid_from: '2026-01-01T00:00:00Z',
  });
const bundleOf = (objects: string[]) => `{"type":"bundle","id":"bundle--1","objects":[${objects.join(',')}]}`;

const ROUTES: Record<string, (res: ServerResponse) => void> = {
  '/truncated.json': (res) => {
    const full = bundleOf(GOOD.map((ip, i) => indicator(i, ip)).concat(indicator(9, '194.26.192.64')));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(full.slice(0, full.length - 40));
  },
  '/invalid.json': (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      `{"type":"bundle","objects":[${GOOD.map((ip, i) => indicator(i, ip)).join(',')}, {"type": indicator}]}`,
    );
  },
  '/columns.csv': (res) => {
    res.writeHead(200, { 'content-type': 'text/csv' });
    res.end(
      [
        'indicator,type,tags',
        `${GOOD[0]},ip-dst,c2`,
        'lonely-field-without-type',
        `${GOOD[1]},ip-dst,c2,extra,columns,here`,
        '"broken quote,ip-dst,c2',
        `${GOOD[2]},ip-dst`,
      ].join('\n') + '\n',
    );
  },
  '/garbage.txt': (res) => {
    const bytes = Buffer.alloc(64 * 1024);
    let s = 7;
    for (let i = 0; i < bytes.length; i++) bytes[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(Buffer.concat([Buffer.from(`${GOOD[0]}\n`), bytes, Buffer.from(`\n${GOOD[1]}\n`)]));
  },
  '/utf8.txt': (res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(
      Buffer.concat([
        Buffer.from(`${GOOD[0]}\n`),
        Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0x0a]),
        Buffer.from(`${GOOD[1]}\n`),
      ]),
    );
  },
  '/huge.txt': (res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    // One line of a gibibyte between good lines: streamed from a 64 KiB buffer, never allocated whole.
    generated(`${GOOD[0]}\n`, 0x41, GiB, `\n${GOOD[1]}\n`).pipe(res);
  },
  '/long-line.txt': (res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    generated(`${GOOD[0]}\n`, 0x42, 10 * 1024 * 1024, `\n${GOOD[1]}\n`).pipe(res);
  },
  '/nested.json': (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const depth = 100_000;
    res.end(
      `{"type":"bundle","objects":[${indicator(0, GOOD[0]!)},${'['.repeat(depth)}${']'.repeat(depth)},${indicator(1, GOOD[1]!)}]}`,
    );
  },
  '/big-bundle.json': (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    // 100,000 objects, one in ten an indicator; streamed as written.
    let i = 0;
    const body = new Readable({
      read() {
        if (i === 0) this.push('{"type":"bundle","id":"bundle--2","objects":[');
        if (i >= 100_000) {
          this.push(']}');
          this.push(null);
          return;
        }
        const parts: string[] = [];
        for (const end = Math.min(i + 1000, 100_000); i < end; i++) {
          const ip = `23.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255 || 1}`;
          parts.push(
            i % 10 === 0
              ? indicator(i, ip)
              : JSON.stringify({ type: 'ipv4-addr', id: `ipv4-addr--${i}`, value: ip }),
          );
        }
        this.push((i > 1000 ? ',' : '') + parts.join(','));
      },
    });
    body.pipe(res);
  },
  '/html': (res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(HTML_PAGE);
  },
};

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) =>
    (ROUTES[req.url ?? ''] ?? ((r: ServerResponse) => r.writeHead(404).end()))(res),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

interface Outcome {
  report?: SourceReport;
  error?: string;
  stored: string[];
  /** Largest RSS growth seen while collecting, in bytes. */
  rssGrowth: number;
}

/** One pull of a source over the hostile route into a fresh store, sampling RSS as it goes. */
async function collectFrom(name: string, raw: Record<string, unknown>): Promise<Outcome> {
  const store = tempStore();
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  try {
    const { report } = await collect(sourceFrom(name, raw), store.db, {
      cycleId: 'hostile',
      now: Date.now,
      allowlists: { match: () => undefined },
      http,
    });
    return { report, stored: storedValues(store), rssGrowth: peak - before };
  } catch (err) {
    return { error: (err as Error).message, stored: storedValues(store), rssGrowth: peak - before };
  } finally {
    clearInterval(sampler);
    store.close();
  }
}

const storedValues = (store: ReturnType<typeof tempStore>) =>
  (store.sqlite.prepare('select value from iocs order by id').all() as { value: string }[]).map(
    (r) => r.value,
  );

describe('hostile feeds', () => {
  test('truncated JSON: the objects before the cut are stored, the cut is named', async () => {
    const out = await collectFrom('trunc', { type: 'stix', url: `${base}/truncated.json` });
    expect(out.stored).toEqual(GOOD);
    expect(out.report!.unreadable).toBe(1);
    expect(out.report!.problems).toEqual([
      expect.stringMatching(/^trunc object \d+: .*(ends early|broke off)/),
    ]);
  });

  test('invalid JSON: the objects before the fault are stored, the fault is named', async () => {
    const out = await collectFrom('invalid', { type: 'stix', url: `${base}/invalid.json` });
    expect(out.stored).toEqual(GOOD);
    expect(out.report!.problems).toEqual([
      expect.stringMatching(/^invalid object 4: not valid JSON after this point/),
    ]);
  });

  test('CSV with missing and extra columns: bad rows rejected with their line, the others stored', async () => {
    const out = await collectFrom('cols', {
      type: 'csv',
      url: `${base}/columns.csv`,
      header: true,
      columns: { value: 'indicator', type: 'type', tags: 'tags' },
    });
    expect(out.stored).toEqual(GOOD);
    // A row short of the type column reads without a type hint and is then rejected for what it is.
    expect([...out.report!.problems].sort()).toEqual([
      'cols line 3: unknown_type (not an IP, domain, URL, hash or email address)',
      'cols line 5: broken quoting',
    ]);
  });

  test('binary garbage: no crash, each unreadable line is named, the good lines stand', async () => {
    const out = await collectFrom('garbage', { type: 'plain', url: `${base}/garbage.txt` });
    expect(out.error).toBeUndefined();
    expect(out.stored.slice(0, 1)).toEqual([GOOD[0]]);
    expect(out.stored).toContain(GOOD[1]);
    expect(out.report!.problems.length).toBeGreaterThan(0);
    for (const p of out.report!.problems) expect(p).toMatch(/^garbage line \d+: /);
  });

  test('invalid UTF-8 costs its line only', async () => {
    const out = await collectFrom('utf8', { type: 'plain', url: `${base}/utf8.txt` });
    expect(out.stored).toEqual(GOOD.slice(0, 2));
    expect(out.report!.problems).toEqual(['utf8 line 2: not valid UTF-8']);
  });

  test('a 1 GiB response streams through in bounded memory', async () => {
    const out = await collectFrom('huge', { type: 'plain', url: `${base}/huge.txt` });
    expect(out.stored).toEqual(GOOD.slice(0, 2));
    expect(out.report!.problems).toEqual(['huge line 2: line longer than 1048576 bytes']);
    expect(out.rssGrowth).toBeLessThan(200 * 1024 * 1024);
    console.info(`1 GiB body: RSS grew by at most ${(out.rssGrowth / 2 ** 20).toFixed(0)} MiB`);
  }, 90_000);

  test('a single 10 MB line is dropped as it arrives, its neighbours stored', async () => {
    const out = await collectFrom('long', { type: 'plain', url: `${base}/long-line.txt` });
    expect(out.stored).toEqual(GOOD.slice(0, 2));
    expect(out.report!.problems).toEqual(['long line 2: line longer than 1048576 bytes']);
    expect(out.rssGrowth).toBeLessThan(64 * 1024 * 1024);
    console.info(`10 MB line: RSS grew by at most ${(out.rssGrowth / 2 ** 20).toFixed(0)} MiB`);
  });

  test('JSON nested 100,000 levels deep: no stack overflow, the object is rejected, its neighbours stored', async () => {
    const out = await collectFrom('nested', { type: 'stix', url: `${base}/nested.json` });
    expect(out.error).toBeUndefined();
    expect(out.stored).toEqual(GOOD.slice(0, 2));
    expect(out.report!.problems).toEqual([expect.stringMatching(/^nested object 2: /)]);
  });

  test('a STIX bundle of 100,000 objects is streamed object by object', async () => {
    const out = await collectFrom('big', { type: 'stix', url: `${base}/big-bundle.json` });
    expect(out.report).toMatchObject({ entries: 10_000, indicators: 10_000, newIocs: 10_000, unreadable: 0 });
    expect(out.stored).toHaveLength(10_000);
  }, 60_000);

  test.each([
    ['plain', {}],
    ['csv', {}],
    ['stix', {}],
  ])('an HTML error page with status 200 fails the %s source with a clear message', async (type, extra) => {
    const out = await collectFrom(`html-${type}`, { type, url: `${base}/html`, ...extra });
    expect(out.error).toMatch(new RegExp(`^source html-${type}: the response is an? HTML page`));
    expect(out.stored).toEqual([]);
  });
});
