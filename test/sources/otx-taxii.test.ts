import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AuthRejectedError } from '../../src/http/failures.js';
import { startOtxFake, type OtxFake } from '../fakes/otx.js';
import { startTaxiiFake, type TaxiiFake } from '../fakes/taxii.js';
import { pullAll, sourceFrom, values } from './support.js';

const OTX_KEY = 'f'.repeat(64);
// One clock for the whole file: recomputing "97 minutes ago" later can land in the next second.
const NOW = Date.now();
const iso = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString();
const naive = (minutesAgo: number) => iso(minutesAgo).slice(0, 19);

describe('OTX source', () => {
  let otx: OtxFake;
  beforeAll(async () => {
    otx = await startOtxFake({
      apiKey: OTX_KEY,
      pulses: [1, 2, 3].map((n) => ({
        id: `64e38336d783f91d6948a7b${n}`,
        name: `pulse ${n}`,
        modified: naive(100 - n),
        tags: ['backdoor'],
        malware_families: ['WHIRLPOOL'],
        adversary: n === 1 ? 'UNC4841' : '',
        indicators: [{ id: n, indicator: `198.51.100.${n}`, type: 'IPv4', description: 'also 203.0.113.9' }],
      })),
    });
  });
  afterAll(() => otx.close());

  test('follows next until null, with modified_since and the key header; pulse data become tags', async () => {
    const source = sourceFrom('otx', { type: 'otx', url: otx.url, apiKey: OTX_KEY, pageSize: 2 });
    const { pages, memory } = await pullAll(source);
    expect(values(pages)).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.3']);
    expect(otx.requests).toHaveLength(2);
    expect(otx.requests[0]!.headers['x-otx-api-key']).toBe(OTX_KEY);
    expect(otx.requests[1]!.query.get('page')).toBe('2');
    expect(pages[0]!.entries[0]).toMatchObject({
      typeHint: 'IPv4',
      ref: '64e38336d783f91d6948a7b1',
      tags: ['backdoor', 'WHIRLPOOL', 'adversary:UNC4841', 'tlp:white'],
    });
    expect(memory.watermark).toBe(naive(97));

    otx.pulses.push({
      id: '64e38336d783f91d6948a7b4',
      name: 'new',
      modified: naive(1),
      indicators: [{ id: 4, indicator: 'evil-new.example.com', type: 'domain' }],
    });
    otx.requests.length = 0;
    const second = await pullAll(source, memory);
    expect(otx.requests[0]!.query.get('modified_since')).toBe(naive(97));
    expect(values(second.pages)).toEqual(['evil-new.example.com']);
    otx.pulses.pop();
  });

  test('a resumed pull continues at the next URL it carried', async () => {
    const source = sourceFrom('otx', { type: 'otx', url: otx.url, apiKey: OTX_KEY, pageSize: 2 });
    const full = await pullAll(source);
    otx.requests.length = 0;
    const resumed = await pullAll(source, {}, full.pages[0]!.cursor);
    expect(otx.requests.map((r) => r.query.get('page'))).toEqual(['2']);
    expect(values(resumed.pages)).toEqual(['198.51.100.3']);
  });

  test('a wrong key is an AuthRejectedError naming the config key', async () => {
    const err = await pullAll(sourceFrom('otx', { type: 'otx', url: otx.url, apiKey: 'bad-otx-key' })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AuthRejectedError);
    expect((err as Error).message).toContain('sources.otx.apiKey');
    expect((err as Error).message).not.toContain('bad-otx-key');
  });
});

describe('TAXII source', () => {
  let taxii: TaxiiFake;
  const indicator = (n: number, pattern: string) => ({
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    created: iso(60),
    modified: iso(60),
    pattern,
    pattern_type: 'stix',
    valid_from: iso(60),
    confidence: 70,
  });
  beforeAll(async () => {
    taxii = await startTaxiiFake({
      auth: { basic: { username: 'analyst', password: 'taxii-secret' } },
      collections: {
        'c2-feed': [
          { dateAdded: iso(50), object: indicator(1, "[ipv4-addr:value = '198.51.100.1']") },
          { dateAdded: iso(40), object: indicator(2, "[domain-name:value = 'evil-taxii.example.com']") },
          { dateAdded: iso(30), object: indicator(3, "[url:value MATCHES '^http://']") },
        ],
      },
    });
  });
  afterAll(() => taxii.close());

  const config = (extra: Record<string, unknown> = {}) =>
    sourceFrom('taxii', {
      type: 'taxii',
      url: `${taxii.url}/api1/`,
      collection: 'c2-feed',
      username: 'analyst',
      password: 'taxii-secret',
      pageSize: 2,
      ...extra,
    });

  test('pages with next/more, TAXII media type, added_after from the last X-TAXII-Date-Added-Last', async () => {
    const { pages, memory } = await pullAll(config());
    expect(values(pages)).toEqual(['198.51.100.1', 'evil-taxii.example.com']);
    expect(pages[1]!.errors[0]!.message).toMatch(/MATCHES is not supported/);
    expect(taxii.requests[0]!.headers.accept).toBe('application/taxii+json;version=2.1');
    expect(taxii.requests.map((r) => r.query.get('next'))).toEqual([null, '2']);
    expect(memory.watermark).toBe(taxii.collections.get('c2-feed')!.at(-1)!.dateAdded);
    taxii.requests.length = 0;
    const second = await pullAll(config(), memory);
    expect(taxii.requests[0]!.query.get('added_after')).toBe(memory.watermark);
    expect(values(second.pages)).toEqual([]);
  });

  test('wrong password is an AuthRejectedError naming the config key, without the password', async () => {
    const err = await pullAll(config({ password: 'not-the-password' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthRejectedError);
    expect((err as Error).message).toContain('sources.taxii.password');
    expect((err as Error).message).not.toContain('not-the-password');
  });
});
