import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { createEnricher, VENDORS } from '../../src/enrichers/index.js';
import { createHttpClient } from '../../src/http/client.js';
import { startVendorFakes } from '../fakes/vendors.js';

const LATENCY_MS = 300;

describe('a lookup reports when its request went out, before the answer', () => {
  let fakes: Awaited<ReturnType<typeof startVendorFakes>>;
  beforeAll(async () => {
    fakes = await startVendorFakes({
      rateLimit: { requests: 100, windowMs: 1000 },
      dailyQuota: 1000,
      latencyMs: LATENCY_MS,
    });
  });
  afterAll(() => fakes.close());

  test.each(VENDORS)('%s', async (vendor) => {
    const config = configSchema.parse({ enrichers: fakes.enrichers({ requests: 100, per: '1s' }, 1000) });
    const enricher = createEnricher(vendor, config, { http: createHttpClient() })!;
    const reports: number[] = [];
    await enricher.lookup({ type: 'ipv4', value: '45.9.8.7' }, undefined, () => reports.push(Date.now()));
    const answered = Date.now();
    expect(reports).toHaveLength(1);
    // Reported when written: the fake answers only LATENCY_MS after the request reached it.
    expect(answered - reports[0]!).toBeGreaterThanOrEqual(LATENCY_MS - 2);
  });
});
