import { afterEach, describe, expect, test } from 'vitest';
import { startAbuseIpdbFake } from './abuseipdb.js';
import type { FakeServer } from './server.js';

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
