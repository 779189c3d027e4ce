import { startAbuseIpdbFake, type AbuseIpdbFake } from './abuseipdb.js';
import { startShodanFake, type ShodanFake } from './shodan.js';
import { startVirusTotalFake, type VirusTotalFake } from './virustotal.js';

/** The three vendor fakes with the same limit, quota and latency, and the `enrichers` config that uses them. */
export interface VendorFakes {
  vt: VirusTotalFake;
  shodan: ShodanFake;
  abuse: AbuseIpdbFake;
  /** The `enrichers` section pointing at the fakes with their test keys. */
  enrichers(rateLimit: { requests: number; per: string }, dailyBudget?: number): Record<string, unknown>;
  close(): Promise<void>;
}

export async function startVendorFakes(options: {
  rateLimit: { requests: number; windowMs: number };
  dailyQuota: number;
  latencyMs?: number;
}): Promise<VendorFakes> {
  const vt = await startVirusTotalFake(options);
  const shodan = await startShodanFake(options);
  const abuse = await startAbuseIpdbFake(options);
  return {
    vt,
    shodan,
    abuse,
    enrichers: (rateLimit, dailyBudget) => {
      const common = { rateLimit, ...(dailyBudget !== undefined ? { dailyBudget } : {}) };
      return {
        virustotal: { apiKey: 'vt-test-key', baseUrl: `${vt.url}/api/v3`, ...common },
        shodan: { apiKey: 'shodan-test-key', baseUrl: shodan.url, ...common },
        abuseipdb: { apiKey: 'abuseipdb-test-key', baseUrl: `${abuse.url}/api/v2`, ...common },
      };
    },
    close: async () => {
      await Promise.all([vt.close(), shodan.close(), abuse.close()]);
    },
  };
}
