import { afterEach, describe, expect, test } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { createEnricher, type Enricher } from '../../src/enrichers/index.js';
import { virusTotalUrlId } from '../../src/enrichers/virustotal.js';
import { createHttpClient } from '../../src/http/client.js';
import {
  AuthRejectedError,
  RateLimitedError,
  RequestRejectedError,
  UnavailableError,
} from '../../src/http/failures.js';
import { ResponseInvalidError } from '../../src/http/request.js';
import { startAbuseIpdbFake } from '../fakes/abuseipdb.js';
import type { FakeServer } from '../fakes/server.js';
import { startShodanFake } from '../fakes/shodan.js';
import { startVirusTotalFake } from '../fakes/virustotal.js';

const fakes: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

function enricher(vendor: 'virustotal' | 'shodan' | 'abuseipdb', baseUrl: string, apiKey: string): Enricher {
  const config = configSchema.parse({ enrichers: { [vendor]: { apiKey, baseUrl, timeoutMs: 2000 } } });
  return createEnricher(vendor, config, { http: createHttpClient() })!;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the lookup to fail');
}

describe('VirusTotal', () => {
  test('looks a hash up under /files with x-apikey and reads the verdict counts', async () => {
    const fake = await startVirusTotalFake({
      rateLimit: { requests: 100, windowMs: 1000 },
      verdicts: {
        '44d88612fea8a8f36de82e1278abb02f': {
          malicious: 61,
          harmless: 0,
          undetected: 7,
          suspicious: 0,
          label: 'virus.eicar/test',
        },
      },
    });
    fakes.push(fake);
    const lookup = await enricher('virustotal', `${fake.url}/api/v3`, 'vt-test-key').lookup({
      type: 'md5',
      value: '44d88612fea8a8f36de82e1278abb02f',
    });
    expect(lookup).toMatchObject({
      outcome: 'ok',
      verdict: {
        vendor: 'virustotal',
        malicious: 61,
        suspicious: 0,
        harmless: 0,
        undetected: 7,
        engines: 68,
        threatLabel: 'virus.eicar/test',
      },
    });
    expect(fake.requests[0]).toMatchObject({
      method: 'GET',
      path: '/api/v3/files/44d88612fea8a8f36de82e1278abb02f',
    });
    expect(fake.requests[0]!.headers['x-apikey']).toBe('vt-test-key');
  });

  test('an MD5 or SHA-1 lookup reads the file VirusTotal answers under its SHA-256 id', async () => {
    const eicar = {
      md5: '44d88612fea8a8f36de82e1278abb02f',
      sha1: '3395856ce81f2b7382dee72602f798b642f14140',
      sha256: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f',
    };
    const fake = await startVirusTotalFake({
      rateLimit: { requests: 100, windowMs: 1000 },
      files: [eicar],
      verdicts: {
        [eicar.sha256]: {
          malicious: 61,
          suspicious: 0,
          harmless: 0,
          undetected: 7,
          label: 'virus.eicar/test',
        },
      },
    });
    fakes.push(fake);
    const vt = enricher('virustotal', `${fake.url}/api/v3`, 'vt-test-key');
    for (const type of ['md5', 'sha1'] as const) {
      expect(await vt.lookup({ type, value: eicar[type] }), type).toMatchObject({
        outcome: 'ok',
        verdict: { malicious: 61, engines: 68, threatLabel: 'virus.eicar/test' },
      });
    }
    expect(fake.requests.map((r) => r.path)).toEqual([
      `/api/v3/files/${eicar.md5}`,
      `/api/v3/files/${eicar.sha1}`,
    ]);
  });

  test('names a URL by its unpadded URL-safe base64 id', async () => {
    expect(virusTotalUrlId('http://www.google.com/')).toBe('aHR0cDovL3d3dy5nb29nbGUuY29tLw');
    const fake = await startVirusTotalFake({ rateLimit: { requests: 100, windowMs: 1000 } });
    fakes.push(fake);
    const url = 'https://cdn-telemetry-sync.info/gate.php?id=7';
    await enricher('virustotal', `${fake.url}/api/v3`, 'vt-test-key').lookup({ type: 'url', value: url });
    expect(fake.requests[0]!.path).toBe(`/api/v3/urls/${virusTotalUrlId(url)}`);
    expect(fake.counts.ok).toBe(1);
  });

  test('an unknown IOC is a normal "not found" answer', async () => {
    const fake = await startVirusTotalFake({
      unknown: ['paste-relay.ru'],
      rateLimit: { requests: 100, windowMs: 1000 },
    });
    fakes.push(fake);
    const lookup = await enricher('virustotal', `${fake.url}/api/v3`, 'vt-test-key').lookup({
      type: 'domain',
      value: 'paste-relay.ru',
    });
    expect(lookup).toEqual({ outcome: 'not_found' });
  });

  test('a wrong key fails for good, naming the config key and never the key', async () => {
    const fake = await startVirusTotalFake();
    fakes.push(fake);
    const err = await failure(
      enricher('virustotal', `${fake.url}/api/v3`, 'vt-REVOKED-5e3cr3t').lookup({
        type: 'ipv4',
        value: '45.155.205.233',
      }),
    );
    expect(err).toBeInstanceOf(AuthRejectedError);
    expect(err.message).toBe(
      'VirusTotal rejected the credentials (401) (config: enrichers.virustotal.apiKey)',
    );
    expect(err.message).not.toContain('5e3cr3t');
  });

  test('the quota answer becomes a retryable rate-limit failure', async () => {
    const fake = await startVirusTotalFake({ rateLimit: { requests: 1, windowMs: 60_000 } });
    fakes.push(fake);
    const vt = enricher('virustotal', `${fake.url}/api/v3`, 'vt-test-key');
    await vt.lookup({ type: 'ipv4', value: '45.155.205.233' });
    const err = await failure(vt.lookup({ type: 'ipv4', value: '91.92.109.43' }));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(fake.counts.rateLimited).toBe(1);
  });

  test('a response in the wrong shape is rejected, not half-used', async () => {
    const fake = await startVirusTotalFake({ rateLimit: { requests: 100, windowMs: 1000 } });
    fakes.push(fake);
    fake.script({
      status: 200,
      body: {
        data: { id: 'x', type: 'ip_address', attributes: { last_analysis_stats: { malicious: 'many' } } },
      },
    });
    const err = await failure(
      enricher('virustotal', `${fake.url}/api/v3`, 'vt-test-key').lookup({
        type: 'ipv4',
        value: '45.155.205.233',
      }),
    );
    expect(err).toBeInstanceOf(ResponseInvalidError);
    expect(err.message).toMatch(
      /^VirusTotal answered in an unexpected shape at data\.attributes\.last_analysis_stats\.malicious/,
    );
  });

  test('503 TransientError and timeouts are retryable', async () => {
    const fake = await startVirusTotalFake({ rateLimit: { requests: 100, windowMs: 1000 } });
    fakes.push(fake);
    fake.script(
      { status: 503, body: { error: { code: 'TransientError', message: 'try again' } } },
      { status: 200, delayMs: 3000 },
    );
    const vt = enricher('virustotal', `${fake.url}/api/v3`, 'vt-test-key');
    expect(await failure(vt.lookup({ type: 'ipv4', value: '45.155.205.233' }))).toBeInstanceOf(
      UnavailableError,
    );
    const timedOut = await failure(vt.lookup({ type: 'ipv4', value: '45.155.205.233' }));
    expect(timedOut).toBeInstanceOf(UnavailableError);
    expect(timedOut.message).toBe('VirusTotal timed out');
  });
});

describe('Shodan', () => {
  test('looks a host up with the key as query parameter and reads ports, tags and vulns', async () => {
    const fake = await startShodanFake({
      hosts: { '185.220.101.47': { ports: [443, 9001], tags: ['tor'], vulns: [] } },
    });
    fakes.push(fake);
    const lookup = await enricher('shodan', fake.url, 'shodan-test-key').lookup({
      type: 'ipv4',
      value: '185.220.101.47',
    });
    expect(lookup).toMatchObject({
      outcome: 'ok',
      verdict: { vendor: 'shodan', ports: [443, 9001], tags: ['tor'], vulns: [] },
    });
    expect(fake.requests[0]!.path).toBe('/shodan/host/185.220.101.47');
    expect(fake.requests[0]!.query.get('key')).toBe('shodan-test-key');
  });

  test('an unknown host is "not found"; a missing tags key is read as none', async () => {
    const fake = await startShodanFake({
      unknown: ['91.92.109.43'],
      rateLimit: { requests: 10, windowMs: 1000 },
    });
    fakes.push(fake);
    const shodan = enricher('shodan', fake.url, 'shodan-test-key');
    expect(await shodan.lookup({ type: 'ipv4', value: '91.92.109.43' })).toEqual({ outcome: 'not_found' });
    fake.script({ status: 200, body: { ip_str: '45.155.205.233', ports: [22] } });
    expect(await shodan.lookup({ type: 'ipv4', value: '45.155.205.233' })).toMatchObject({
      verdict: { tags: [], vulns: [], hostnames: [] },
    });
  });

  test('a bad key answered with the nginx HTML page is an auth failure whose message holds no key', async () => {
    const fake = await startShodanFake({ htmlUnauthorized: true });
    fakes.push(fake);
    const err = await failure(
      enricher('shodan', fake.url, 'shodan-5e3cr3t').lookup({ type: 'ipv4', value: '45.155.205.233' }),
    );
    expect(err).toBeInstanceOf(AuthRejectedError);
    expect(err.message).not.toContain('5e3cr3t');
  });

  test('a 200 carrying an error is an error', async () => {
    const fake = await startShodanFake();
    fakes.push(fake);
    fake.script({ status: 200, body: { error: 'Invalid IP' } });
    expect(
      await failure(
        enricher('shodan', fake.url, 'shodan-test-key').lookup({ type: 'ipv4', value: '45.155.205.233' }),
      ),
    ).toBeInstanceOf(RequestRejectedError);
  });
});

describe('AbuseIPDB', () => {
  test('checks an IP with Key and Accept headers and reads score, reports and Tor', async () => {
    const fake = await startAbuseIpdbFake({
      scores: {
        '185.220.101.47': { abuseConfidenceScore: 94, totalReports: 812, numDistinctUsers: 140, isTor: true },
      },
    });
    fakes.push(fake);
    const lookup = await enricher('abuseipdb', `${fake.url}/api/v2`, 'abuseipdb-test-key').lookup({
      type: 'ipv4',
      value: '185.220.101.47',
    });
    expect(lookup).toMatchObject({
      outcome: 'ok',
      verdict: {
        vendor: 'abuseipdb',
        abuseConfidenceScore: 94,
        totalReports: 812,
        distinctReporters: 140,
        isTor: true,
        isWhitelisted: null,
      },
    });
    const req = fake.requests[0]!;
    expect(req.headers.key).toBe('abuseipdb-test-key');
    expect(req.headers.accept).toBe('application/json');
    expect(Object.fromEntries(req.query)).toEqual({ ipAddress: '185.220.101.47', maxAgeInDays: '90' });
  });

  test('a spent daily quota is a rate limit carrying the long Retry-After', async () => {
    const fake = await startAbuseIpdbFake({ dailyQuota: 1 });
    fakes.push(fake);
    const abuse = enricher('abuseipdb', `${fake.url}/api/v2`, 'abuseipdb-test-key');
    await abuse.lookup({ type: 'ipv4', value: '45.155.205.233' });
    const err = await failure(abuse.lookup({ type: 'ipv4', value: '91.92.109.43' }));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(29_241_000);
  });

  test('a revoked key fails for good', async () => {
    const fake = await startAbuseIpdbFake();
    fakes.push(fake);
    const err = await failure(
      enricher('abuseipdb', `${fake.url}/api/v2`, 'revoked').lookup({
        type: 'ipv4',
        value: '45.155.205.233',
      }),
    );
    expect(err).toBeInstanceOf(AuthRejectedError);
    expect(err.message).toContain('enrichers.abuseipdb.apiKey');
  });
});
