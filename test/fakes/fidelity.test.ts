import { deflateSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, test } from 'vitest';
import { startAbuseIpdbFake } from './abuseipdb.js';
import { Storm, type StormOptions } from './faults.js';
import type { FakeServer } from './server.js';
import { startShodanFake } from './shodan.js';
import { startSplunkHecFake } from './splunk-hec.js';
import { startVirusTotalFake } from './virustotal.js';

// The fakes answer as vendor-apis.md says the vendors do: tests built on them prove only as much as the
// fakes are faithful.

const fakes: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function started<T extends FakeServer>(fake: Promise<T>): Promise<T> {
  const f = await fake;
  fakes.push(f);
  return f;
}

describe('AbuseIPDB fake', () => {
  const check = (url: string, ip: string) =>
    fetch(`${url}/api/v2/check?ipAddress=${encodeURIComponent(ip)}&maxAgeInDays=90`, {
      headers: { key: 'abuseipdb-test-key', accept: 'application/json' },
    });

  test.each(['1:2', 'dead:', '1.2.3.256', '01.2.3.4', '::ffff:1.2.3', 'fe80::1%eth0', ''])(
    'answers %j with the 422 naming ipAddress',
    async (ip) => {
      const fake = await started(startAbuseIpdbFake());
      const res = await check(fake.url, ip);
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual({
        errors: [
          {
            detail:
              'The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).',
            status: 422,
            source: { parameter: 'ipAddress' },
          },
        ],
      });
    },
  );

  test.each([
    ['::ffff:1.2.3.4', 6],
    ['2001:4860:4860::8888', 6],
    ['::', 6],
    ['8.8.8.8', 4],
  ])('checks %j as an IPv%i address', async (ip, version) => {
    const fake = await started(startAbuseIpdbFake());
    const res = await check(fake.url, ip);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ data: { ipAddress: ip, ipVersion: version } });
  });
});

describe('VirusTotal fake', () => {
  const EICAR = {
    md5: '44d88612fea8a8f36de82e1278abb02f',
    sha1: '3395856ce81f2b7382dee72602f798b642f14140',
    sha256: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f',
  };
  interface FileDocument {
    data: {
      id: string;
      type: string;
      links: { self: string };
      attributes: { md5: string; sha1: string; sha256: string; last_analysis_stats: Record<string, number> };
    };
  }
  const lookup = async (url: string, hash: string) => {
    const res = await fetch(`${url}/api/v3/files/${hash}`, { headers: { 'x-apikey': 'vt-test-key' } });
    return { status: res.status, body: (await res.json()) as FileDocument };
  };
  const window = { requests: 100, windowMs: 1000 };

  test('a file is one record by any of its three hashes, answered under its SHA-256 id', async () => {
    const fake = await started(
      startVirusTotalFake({
        rateLimit: window,
        files: [EICAR],
        verdicts: { [EICAR.md5]: { malicious: 61, harmless: 0, undetected: 7 } },
      }),
    );
    for (const hash of [EICAR.md5, EICAR.sha1, EICAR.sha256, EICAR.sha1.toUpperCase()]) {
      const { status, body } = await lookup(fake.url, hash);
      expect(status, hash).toBe(200);
      expect(body.data, hash).toMatchObject({
        id: EICAR.sha256,
        type: 'file',
        links: { self: `/api/v3/files/${EICAR.sha256}` },
        attributes: { ...EICAR, last_analysis_stats: { malicious: 61, harmless: 0, undetected: 7 } },
      });
    }
  });

  test('a hash the test gave alone gets stable other hashes, each leading back to the same file', async () => {
    const fake = await started(startVirusTotalFake({ rateLimit: window }));
    const md5 = 'a'.repeat(32);
    const first = await lookup(fake.url, md5);
    const { id, attributes } = first.body.data;
    expect(attributes.md5).toBe(md5);
    expect(attributes.sha1).toMatch(/^[0-9a-f]{40}$/);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(attributes.sha256).toBe(id);
    expect(fake.file(md5)).toEqual({ md5, sha1: attributes.sha1, sha256: id });
    for (const hash of [attributes.sha1, id]) expect((await lookup(fake.url, hash)).body).toEqual(first.body);
    // A fresh fake derives the same hashes: a test may rely on them across runs.
    const again = await started(startVirusTotalFake({ rateLimit: window }));
    expect(again.file(md5)).toEqual(fake.file(md5));
  });

  test('a file unknown by one hash is unknown by all three; the 404 names the hash asked for', async () => {
    const fake = await started(
      startVirusTotalFake({ rateLimit: window, unknown: [EICAR.sha1], files: [EICAR] }),
    );
    for (const hash of [EICAR.md5, EICAR.sha1, EICAR.sha256]) {
      const res = await fetch(`${fake.url}/api/v3/files/${hash}`, { headers: { 'x-apikey': 'vt-test-key' } });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        error: { code: 'NotFoundError', message: `File "${hash}" not found` },
      });
    }
  });
});

describe('Splunk HEC fake', () => {
  const events = [
    { event: { value: '45.155.205.233' }, sourcetype: 'ioc:enriched' },
    { event: { value: 'paste-relay.ru' }, sourcetype: 'ioc:enriched' },
  ];
  const post = (url: string, body: Buffer | string, encoding?: string) =>
    fetch(`${url}/services/collector/event`, {
      method: 'POST',
      headers: { authorization: 'Splunk good-token', ...(encoding ? { 'content-encoding': encoding } : {}) },
      body,
    });
  const batch = events.map((e) => JSON.stringify(e)).join('\n');

  test('indexes a gzip-encoded batch', async () => {
    const fake = await started(startSplunkHecFake({ tokens: { 'good-token': {} } }));
    const res = await post(fake.url, gzipSync(batch), 'gzip');
    expect(await res.json()).toEqual({ text: 'Success', code: 0 });
    expect(res.status).toBe(200);
    expect(fake.events).toEqual(events);
  });

  test('answers a corrupt gzip body 400 Invalid data format and indexes nothing', async () => {
    const fake = await started(startSplunkHecFake({ tokens: { 'good-token': {} } }));
    const zipped = gzipSync(batch);
    for (const corrupt of [zipped.subarray(0, zipped.length - 12), Buffer.from(batch)]) {
      const res = await post(fake.url, corrupt, 'gzip');
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ text: 'Invalid data format', code: 6 });
    }
    expect(fake.events).toEqual([]);
  });

  test('refuses a deflate body with 415', async () => {
    const fake = await started(startSplunkHecFake({ tokens: { 'good-token': {} } }));
    const res = await post(fake.url, deflateSync(batch), 'deflate');
    expect(res.status).toBe(415);
    expect(fake.events).toEqual([]);
  });

  test('max_content_length counts the bytes sent, compressed', async () => {
    const big = Array.from({ length: 200 }, () => batch).join('\n');
    const fake = await started(
      startSplunkHecFake({ tokens: { 'good-token': {} }, maxContentLength: Buffer.byteLength(big) - 1 }),
    );
    expect((await post(fake.url, big)).status).toBe(413);
    expect((await post(fake.url, gzipSync(big), 'gzip')).status).toBe(200);
    expect(fake.events).toHaveLength(400);
  });
});

describe('a storm answers as each vendor does', () => {
  const calm: StormOptions = {
    serverErrorRate: 0,
    hangRate: 0,
    hangMs: 0,
    burstRate: 0,
    burstLength: 0,
    retryAfterSeconds: 7,
    seed: 1,
  };
  const bursting = () => new Storm({ ...calm, burstRate: 1, burstLength: 100 });
  const failing = () => new Storm({ ...calm, serverErrorRate: 1 });
  const down = () => new Storm({ ...calm, alwaysDown: () => true });
  const window = { requests: 100, windowMs: 1000 };
  const vendors: Record<
    'virustotal' | 'shodan' | 'abuseipdb',
    { start(storm: Storm): Promise<FakeServer>; get(url: string): Promise<Response> }
  > = {
    virustotal: {
      start: (storm: Storm) => startVirusTotalFake({ rateLimit: window, storm }),
      get: (url: string) =>
        fetch(`${url}/api/v3/ip_addresses/45.155.205.233`, { headers: { 'x-apikey': 'vt-test-key' } }),
    },
    shodan: {
      start: (storm: Storm) => startShodanFake({ rateLimit: window, storm }),
      get: (url: string) => fetch(`${url}/shodan/host/45.155.205.233?key=shodan-test-key`),
    },
    abuseipdb: {
      start: (storm: Storm) => startAbuseIpdbFake({ rateLimit: window, storm }),
      get: (url: string) =>
        fetch(`${url}/api/v2/check?ipAddress=45.155.205.233`, {
          headers: { key: 'abuseipdb-test-key', accept: 'application/json' },
        }),
    },
  };
  async function answers(vendor: keyof typeof vendors, storm: Storm, n = 1) {
    const fake = await started(vendors[vendor].start(storm));
    const out: { status: number; headers: Headers; body: unknown }[] = [];
    for (let i = 0; i < n; i++) {
      const res = await vendors[vendor].get(fake.url);
      out.push({ status: res.status, headers: res.headers, body: await res.json() });
    }
    return out;
  }
  const text = expect.any(String) as unknown;
  const rateHeaders = (headers: Headers) =>
    [...headers.keys()].filter((h) => h === 'retry-after' || h.startsWith('x-ratelimit'));

  test('VirusTotal: 429 QuotaExceededError with no retry hint, 503 TransientError, 504 DeadlineExceededError', async () => {
    const [limited] = await answers('virustotal', bursting());
    expect(limited!.status).toBe(429);
    expect(limited!.body).toEqual({ error: { code: 'QuotaExceededError', message: text } });
    expect(rateHeaders(limited!.headers)).toEqual([]);
    const [unavailable] = await answers('virustotal', down());
    expect(unavailable).toMatchObject({ status: 503, body: { error: { code: 'TransientError' } } });
    const failed = await answers('virustotal', failing(), 8);
    expect(
      new Set(failed.map((a) => `${a.status} ${(a.body as { error: { code: string } }).error.code}`)),
    ).toEqual(new Set(['503 TransientError', '504 DeadlineExceededError']));
  });

  test('Shodan: its {"error": "…"} body on 429 (no retry hint) and 5xx', async () => {
    const [limited] = await answers('shodan', bursting());
    expect(limited).toMatchObject({
      status: 429,
      body: { error: expect.stringMatching(/^Request rate limit reached/) as unknown },
    });
    expect(rateHeaders(limited!.headers)).toEqual([]);
    const failed = [...(await answers('shodan', down())), ...(await answers('shodan', failing(), 8))];
    expect(new Set(failed.map((a) => a.status))).toEqual(new Set([500, 503]));
    for (const a of failed) expect(a.body).toEqual({ error: text });
  });

  test('AbuseIPDB: its errors[] body, and a 429 with Retry-After and every X-RateLimit header', async () => {
    const before = Math.floor(Date.now() / 1000);
    const [limited] = await answers('abuseipdb', bursting());
    expect(limited).toMatchObject({
      status: 429,
      body: { errors: [{ status: 429, detail: text }] },
    });
    expect(limited!.headers.get('retry-after')).toBe('7');
    expect(limited!.headers.get('x-ratelimit-limit')).toBe('1000');
    expect(limited!.headers.get('x-ratelimit-remaining')).toBe('999');
    expect(Number(limited!.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(before + 7);
    const failed = [...(await answers('abuseipdb', down())), ...(await answers('abuseipdb', failing(), 8))];
    expect(new Set(failed.map((a) => a.status))).toEqual(new Set([500, 503]));
    for (const a of failed) {
      expect(a.body).toEqual({ errors: [{ status: a.status, detail: text }] });
    }
  });
});
