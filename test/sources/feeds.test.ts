import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AuthRejectedError } from '../../src/http/failures.js';
import { collect } from '../../src/pipeline/collect.js';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { startFileFake, type FileFake } from '../fakes/files.js';
import { startMispFake, type MispFake } from '../fakes/misp.js';
import { startThreatfoxFake, type ThreatfoxFake } from '../fakes/abusech.js';
import { tempStore } from '../support/store.js';
import { errors, http, pullAll, sourceFrom, values } from './support.js';

const fixture = (name: string) =>
  readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'sources', name), 'utf8');

describe('whole-document feeds over HTTP', () => {
  let files: FileFake;
  beforeAll(async () => {
    files = await startFileFake();
    files.put('/downloads/csv_recent/', fixture('urlhaus.csv'), 'text/csv');
    files.put('/plain.txt', fixture('plain.txt'));
    files.put('/bundle.json', fixture('stix-bundle.json'), 'application/json');
    files.put('/feodo.json', fixture('feodo.json'), 'application/json');
  });
  afterAll(() => files.close());

  test('an unchanged feed costs one 304, yields no page and keeps the memory', async () => {
    const source = sourceFrom('urlhaus', { type: 'urlhaus', url: `${files.url}/downloads/csv_recent/` });
    const first = await pullAll(source);
    expect(values(first.pages)).toHaveLength(2);
    expect(first.pages[0]!.skipped).toEqual({ offline: 1 });
    expect(first.memory.etag).toBeDefined();
    files.requests.length = 0;
    const second = await pullAll(source, first.memory);
    expect(files.requests).toHaveLength(1);
    expect(files.requests[0]!.headers['if-none-match']).toBe(first.memory.etag);
    expect(second.pages).toEqual([]);
    expect(second.memory).toEqual(first.memory);
  });

  test('URLhaus offline: tag keeps the URL with urlhaus:offline', async () => {
    const source = sourceFrom('urlhaus', {
      type: 'urlhaus',
      url: `${files.url}/downloads/csv_recent/`,
      offline: 'tag',
    });
    const { pages } = await pullAll(source);
    expect(pages[0]!.entries.at(-1)).toMatchObject({
      value: 'http://45.61.49.78/razor/r4z0r.mips',
      tags: ['malware_download', 'elf', 'urlhaus:offline'],
    });
  });

  test('plain over HTTP pages by line and resumes after the last stored line', async () => {
    const source = sourceFrom('blocklist', { type: 'plain', url: `${files.url}/plain.txt`, pageSize: 2 });
    const full = await pullAll(source);
    expect(full.pages.map((p) => p.cursor)).toEqual(['3', '6']);
    const resumed = await pullAll(source, {}, '3');
    expect(values(resumed.pages)).toEqual(['http://evil.example/gate.php#frag', 'not an indicator']);
  });

  test('invalid UTF-8 and an overlong line cost their line only', async () => {
    const body = Buffer.concat([
      Buffer.from('185.220.101.47\n'),
      Buffer.from([0x62, 0xff, 0xfe, 0x0a]),
      Buffer.from(`${'a'.repeat(1_100_000)}\n`),
      Buffer.from('194.26.192.64\n'),
    ]);
    // Raw bytes: the file fake serves strings, so a bare server sends what no string can hold.
    const raw = createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    const port = (raw.address() as { port: number }).port;
    try {
      const { pages } = await pullAll(
        sourceFrom('mixed', { type: 'plain', url: `http://127.0.0.1:${port}/` }),
      );
      expect(values(pages)).toEqual(['185.220.101.47', '194.26.192.64']);
      expect(errors(pages)).toEqual([
        { position: 'mixed line 2', message: 'not valid UTF-8' },
        { position: 'mixed line 3', message: 'line longer than 1048576 bytes' },
      ]);
    } finally {
      raw.close();
    }
  });

  test('a truncated STIX bundle keeps the objects before the cut and keeps the old validators', async () => {
    files.faults.truncate = true;
    try {
      const { pages, memory } = await pullAll(
        sourceFrom('stix', { type: 'stix', url: `${files.url}/bundle.json` }),
        {
          etag: '"old"',
        },
      );
      expect(values(pages)).toContain('45.61.49.78');
      expect(errors(pages).at(-1)!.message).toMatch(/broke off|ends early/);
      expect(memory.etag).toBe('"old"');
    } finally {
      files.faults.truncate = false;
    }
  });

  test('an HTML page instead of the feed fails the pull naming the source', async () => {
    files.faults.html = true;
    try {
      await expect(
        pullAll(sourceFrom('feodo', { type: 'feodo', url: `${files.url}/feodo.json` })),
      ).rejects.toThrow(/source feodo: the response is an HTML page/);
      await expect(
        pullAll(sourceFrom('blocklist', { type: 'plain', url: `${files.url}/plain.txt` })),
      ).rejects.toThrow(/source blocklist: the response is an HTML page/);
    } finally {
      files.faults.html = false;
    }
  });
});

describe('SSLBL', () => {
  let files: FileFake;
  beforeAll(async () => {
    files = await startFileFake();
    files.put('/blacklist/sslblacklist.csv', fixture('sslbl.csv'), 'text/csv');
    files.put(
      '/blacklist/sslipblacklist.csv',
      [
        '#'.repeat(40),
        '# abuse.ch SSLBL Botnet C2 IP Blacklist (CSV)',
        '#'.repeat(40),
        '#',
        '# Firstseen,DstIP,DstPort',
        '2024-09-01 10:02:11,185.220.101.47,443',
        '2024-09-01 09:45:40,194.26.192.64,8443',
        '',
      ].join('\n'),
      'text/csv',
    );
  });
  afterAll(() => files.close());

  const collectSslbl = async (path: string) => {
    const store = tempStore();
    try {
      const { report } = await collect(
        sourceFrom('sslbl', { type: 'sslbl', url: `${files.url}${path}` }),
        store.db,
        {
          cycleId: 'sslbl',
          now: Date.now,
          allowlists: { match: () => undefined },
          http,
        },
      );
      const stored = store.sqlite.prepare('select key from iocs order by id').all() as { key: string }[];
      return { report, stored: stored.map((r) => r.key) };
    } finally {
      store.close();
    }
  };

  test('certificate fingerprints are skipped as x509_fingerprint, never stored as file hashes', async () => {
    const { report, stored } = await collectSslbl('/blacklist/sslblacklist.csv');
    expect(report).toMatchObject({ entries: 0, indicators: 0, unreadable: 0, rejected: {}, problems: [] });
    expect(report.skipped).toEqual({ x509_fingerprint: 2 });
    expect(stored).toEqual([]);
  });

  test('the IP blacklist yields its C2 addresses', async () => {
    const { report, stored } = await collectSslbl('/blacklist/sslipblacklist.csv');
    expect(report).toMatchObject({ entries: 2, indicators: 2, unreadable: 0 });
    expect(report.skipped ?? {}).toEqual({});
    expect(stored).toEqual(['ipv4:185.220.101.47', 'ipv4:194.26.192.64']);
  });
});

describe('ThreatFox API', () => {
  let fox: ThreatfoxFake;
  const KEY = 'tf-key-0123456789';
  beforeAll(async () => {
    const recent = (min: number) =>
      new Date(Date.now() - min * 60_000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
    fox = await startThreatfoxFake({
      apiKey: KEY,
      iocs: [
        {
          id: '1',
          ioc: '8.219.229.99:4433',
          ioc_type: 'ip:port',
          threat_type: 'botnet_cc',
          malware_printable: 'Cobalt Strike',
          confidence_level: 80,
          first_seen: recent(60),
          tags: ['c2'],
        },
        {
          id: '2',
          ioc: 'low.example.com',
          ioc_type: 'domain',
          threat_type: 'payload_delivery',
          malware_printable: 'ClearFake',
          confidence_level: 20,
          first_seen: recent(30),
          tags: null,
        },
      ],
    });
  });
  afterAll(() => fox.close());

  test('sends Auth-Key and days, keeps confidence_level, skips low confidence, moves the watermark', async () => {
    const source = sourceFrom('threatfox', {
      type: 'threatfox',
      url: `${fox.url}/api/v1/`,
      apiKey: KEY,
      minConfidence: 50,
    });
    const { pages, memory } = await pullAll(source);
    expect(JSON.parse(fox.requests.at(-1)!.body)).toEqual({ query: 'get_iocs', days: 7 });
    expect(pages[0]!.entries).toMatchObject([
      { value: '8.219.229.99:4433', typeHint: 'ip:port', confidence: 80, ref: 'threatfox:1' },
    ]);
    expect(pages[0]!.skipped).toEqual({ low_confidence: 1 });
    await pullAll(source, memory);
    expect((JSON.parse(fox.requests.at(-1)!.body) as { days: number }).days).toBe(1);
  });

  test('a wrong Auth-Key is an AuthRejectedError naming the config key, without the key', async () => {
    const err = await pullAll(
      sourceFrom('threatfox', { type: 'threatfox', url: `${fox.url}/api/v1/`, apiKey: 'nope-secret-key' }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthRejectedError);
    expect((err as Error).message).toContain('sources.threatfox.apiKey');
    expect((err as Error).message).not.toContain('nope-secret-key');
  });
});

describe('MISP feed', () => {
  let misp: MispFake;
  beforeAll(async () => {
    misp = await startMispFake({
      apiKey: 'k',
      events: [
        {
          uuid: '11111111-1111-4111-8111-111111111111',
          info: 'a',
          timestamp: 100,
          Attribute: [{ uuid: 'a1', type: 'ip-dst', value: '198.51.100.1', to_ids: true, timestamp: 100 }],
        },
        {
          uuid: '22222222-2222-4222-8222-222222222222',
          info: 'b',
          timestamp: 200,
          Attribute: [
            { uuid: 'b1', type: 'domain', value: 'evil-b.example.com', to_ids: true, timestamp: 200 },
          ],
        },
      ],
    });
  });
  afterAll(() => misp.close());

  test('fetches only events changed since the watermark; an unchanged manifest is one 304', async () => {
    const source = sourceFrom('circl', { type: 'misp-feed', url: `${misp.url}/feed` });
    const first = await pullAll(source);
    expect(values(first.pages)).toEqual(['198.51.100.1', 'evil-b.example.com']);
    expect(first.memory.watermark).toBe('200');
    misp.requests.length = 0;
    expect((await pullAll(source, first.memory)).pages).toEqual([]);
    expect(misp.requests.map((r) => r.path)).toEqual(['/feed/manifest.json']);

    misp.events.push({
      uuid: '33333333-3333-4333-8333-333333333333',
      info: 'c',
      timestamp: 300,
      Attribute: [
        { uuid: 'c1', type: 'url', value: 'http://evil-c.example.com/x', to_ids: true, timestamp: 300 },
      ],
    });
    misp.requests.length = 0;
    const third = await pullAll(source, first.memory);
    expect(values(third.pages)).toEqual(['http://evil-c.example.com/x']);
    expect(misp.requests.map((r) => r.path)).toEqual([
      '/feed/manifest.json',
      '/feed/33333333-3333-4333-8333-333333333333.json',
    ]);
    misp.events.pop();
  });

  test('a missing or malformed event file is a problem of that event; the watermark stays below it', async () => {
    const event = (n: number, timestamp: number) => ({
      uuid: `${String(n).repeat(8)}-${String(n).repeat(4)}-4${String(n).repeat(3)}-8${String(n).repeat(3)}-${String(n).repeat(12)}`,
      info: `event ${n}`,
      timestamp,
      Attribute: [{ uuid: `x${n}`, type: 'domain', value: `evil-${n}.example.com`, to_ids: true, timestamp }],
    });
    const missing = event(4, 150);
    const malformed = event(5, 250);
    const later = event(6, 300);
    misp.events.push(missing, malformed, later);
    misp.feedFiles.set(missing.uuid, null);
    misp.feedFiles.set(malformed.uuid, '{"Event": {"Attribute": [{"type": "domain", "val');
    const store = tempStore();
    const source = sourceFrom('circl', { type: 'misp-feed', url: `${misp.url}/feed` });
    // The store keeps the source's memory between the two pulls, as between two cycles.
    const collectOnce = () => {
      return collect(source, store.db, {
        cycleId: 'feed',
        now: Date.now,
        allowlists: { match: () => undefined },
        http,
      });
    };
    const stored = () =>
      (store.sqlite.prepare('select value from iocs order by value').all() as { value: string }[]).map(
        (r) => r.value,
      );
    try {
      const first = await collectOnce();
      expect(stored()).toEqual(['198.51.100.1', 'evil-6.example.com', 'evil-b.example.com']);
      expect(first.report.unreadable).toBe(2);
      expect(first.report.problems).toEqual([
        `circl event ${missing.uuid}: the event file is not found (404)`,
        expect.stringMatching(new RegExp(`^circl event ${malformed.uuid}: the event file is broken: `)),
      ]);
      // Every event up to 149 is stored; 150 is not, so the next pull asks for it again, and the manifest
      // validators are not kept (a 304 would hide it).
      expect(first.memory.watermark).toBe('149');
      expect(first.memory.etag).toBeUndefined();

      // A retried attempt resuming after the failure keeps the low-water mark it carried.
      const pages = await pullAll(source);
      const afterFailure = pages.pages.find((p) => p.errors.length > 0)!.cursor;
      expect((await pullAll(source, {}, afterFailure)).memory.watermark).toBe('149');

      misp.feedFiles.clear();
      misp.requests.length = 0;
      const second = await collectOnce();
      expect(misp.requests[0]!.headers['if-none-match']).toBeUndefined();
      expect(misp.requests.map((r) => r.path)).toEqual([
        '/feed/manifest.json',
        `/feed/${missing.uuid}.json`,
        '/feed/22222222-2222-4222-8222-222222222222.json',
        `/feed/${malformed.uuid}.json`,
        `/feed/${later.uuid}.json`,
      ]);
      expect(second.report.problems).toEqual([]);
      expect(second.memory.watermark).toBe('300');
      expect(second.memory.etag).toBeDefined();
      expect(stored()).toEqual([
        '198.51.100.1',
        'evil-4.example.com',
        'evil-5.example.com',
        'evil-6.example.com',
        'evil-b.example.com',
      ]);
      const sightings = store.sqlite.prepare('select count(*) as n from sightings').get() as { n: number };
      expect(sightings.n).toBe(5);
    } finally {
      store.close();
      misp.feedFiles.clear();
      misp.events.splice(2);
    }
  });

  test('a feed directory with a listed event file missing reads the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iocflow-feed-'));
    const present = '11111111-1111-4111-8111-111111111111';
    const absent = '99999999-9999-4999-8999-999999999999';
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({
        [present]: { timestamp: 100 },
        [absent]: { timestamp: 50 },
        'not-a-uuid': { timestamp: 1 },
      }),
    );
    writeFileSync(
      join(dir, `${present}.json`),
      JSON.stringify({
        Event: {
          uuid: present,
          Attribute: [{ type: 'ip-dst', value: '198.51.100.9', to_ids: true, timestamp: '100' }],
        },
      }),
    );
    const { pages, memory } = await pullAll(sourceFrom('local', { type: 'misp-feed', path: dir }));
    expect(values(pages)).toEqual(['198.51.100.9']);
    expect(errors(pages)).toEqual([
      { position: 'local manifest.json entry "not-a-uuid"', message: 'not an event (key is not a UUID)' },
      { position: `local event ${absent}`, message: 'the event file cannot be read (ENOENT)' },
    ]);
    expect(memory.watermark).toBe('49');
  });

  test('a resumed pull fetches no finished event again', async () => {
    const source = sourceFrom('circl', { type: 'misp-feed', url: `${misp.url}/feed` });
    const full = await pullAll(source);
    misp.requests.length = 0;
    const resumed = await pullAll(source, {}, full.pages[0]!.cursor);
    expect(values(resumed.pages)).toEqual(['evil-b.example.com']);
    expect(misp.requests.map((r) => r.path)).toEqual([
      '/feed/manifest.json',
      '/feed/22222222-2222-4222-8222-222222222222.json',
    ]);
  });
});
