import { deflateSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, test } from 'vitest';
import { startAbuseIpdbFake } from './abuseipdb.js';
import type { FakeServer } from './server.js';
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
