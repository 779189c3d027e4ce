// The simulated vendors and sinks of `npm run demo`: the same loopback fakes the tests use (test/fakes/),
// with fake keys, limits loose enough for a cycle to finish in seconds, and a few fixed verdicts so the
// scores spread out. Nothing here talks to a real service.

import { startAbuseIpdbFake, type AbuseIpdbFake } from '../../test/fakes/abuseipdb.js';
import { startSentinelFake, type SentinelFake } from '../../test/fakes/sentinel.js';
import { startShodanFake, type ShodanFake } from '../../test/fakes/shodan.js';
import { startSplunkHecFake, type HecFake } from '../../test/fakes/splunk-hec.js';
import { startVirusTotalFake, type VirusTotalFake } from '../../test/fakes/virustotal.js';

/** Fake credentials: the fakes accept exactly these. */
export const DEMO_KEYS = {
  virustotal: 'demo-virustotal-key',
  shodan: 'demo-shodan-key',
  abuseipdb: 'demo-abuseipdb-key',
  hecToken: 'demo-hec-token',
  sentinelClient: 'demo-sentinel-app',
  sentinelSecret: 'demo-sentinel-secret',
} as const;

export const DEMO_TENANT = 'demo-tenant';
export const DEMO_WORKSPACE = '00000000-0000-4000-8000-000000000de0';
export const DEMO_HEC_INDEX = 'threat_intel';

/** Per second, at each fake; the demo config asks for 80% of it, as an operator would. */
export const SIMULATED_LIMIT = 20;

export interface SimulatedServices {
  virustotal: VirusTotalFake;
  shodan: ShodanFake;
  abuseipdb: AbuseIpdbFake;
  splunk: HecFake;
  sentinel: SentinelFake;
  /** One line per simulated service with what it was asked, each labelled SIMULATED. */
  activity(): string[];
  close(): Promise<void>;
}

export async function startSimulatedServices(): Promise<SimulatedServices> {
  const window = { requests: SIMULATED_LIMIT, windowMs: 1000 };
  const virustotal = await startVirusTotalFake({
    keys: [DEMO_KEYS.virustotal],
    rateLimit: window,
    dailyQuota: 100_000,
    latencyMs: 40,
    // A few fixed verdicts so some IOCs land clearly above and some clearly below the threshold.
    verdicts: {
      '185.220.101.47': { malicious: 14, suspicious: 2, harmless: 50, undetected: 20, tags: ['tor'] },
      'invoice-docs-share.com': { malicious: 9, harmless: 60, undetected: 20, label: 'phishing' },
      '141.98.10.63': { malicious: 0, harmless: 80, undetected: 10 },
    },
  });
  const shodan = await startShodanFake({
    keys: [DEMO_KEYS.shodan],
    rateLimit: window,
    latencyMs: 40,
    hosts: {
      '185.220.101.47': { tags: ['tor'], ports: [443, 9001] },
      '45.155.205.233': { tags: ['c2'], ports: [80, 443, 8080] },
    },
  });
  const abuseipdb = await startAbuseIpdbFake({
    keys: [DEMO_KEYS.abuseipdb],
    rateLimit: window,
    dailyQuota: 100_000,
    latencyMs: 40,
    scores: {
      '185.220.101.47': { abuseConfidenceScore: 100, totalReports: 412, numDistinctUsers: 120, isTor: true },
      '77.91.124.55': { abuseConfidenceScore: 87, totalReports: 35, numDistinctUsers: 19 },
      '141.98.10.63': { abuseConfidenceScore: 0, totalReports: 0, numDistinctUsers: 0 },
    },
  });
  const splunk = await startSplunkHecFake({
    tokens: { [DEMO_KEYS.hecToken]: { indexes: [DEMO_HEC_INDEX] } },
  });
  const sentinel = await startSentinelFake({
    tenantId: DEMO_TENANT,
    clients: { [DEMO_KEYS.sentinelClient]: DEMO_KEYS.sentinelSecret },
    workspaceId: DEMO_WORKSPACE,
  });
  const all = [virustotal, shodan, abuseipdb, splunk, sentinel];
  return {
    virustotal,
    shodan,
    abuseipdb,
    splunk,
    sentinel,
    activity: () => [
      `[SIMULATED vendor] VirusTotal at ${virustotal.url}: ${virustotal.requests.length} lookups (${virustotal.counts.ok} answered, ${virustotal.counts.notFound} unknown, ${virustotal.counts.rateLimited} rate-limited)`,
      `[SIMULATED vendor] Shodan at ${shodan.url}: ${shodan.requests.length} host lookups (${shodan.counts.ok} answered, ${shodan.counts.notFound} unknown)`,
      `[SIMULATED vendor] AbuseIPDB at ${abuseipdb.url}: ${abuseipdb.requests.length} checks (${abuseipdb.counts.ok} answered)`,
      `[SIMULATED sink] Splunk HEC at ${splunk.url}: ${splunk.deliveryIds().size} indicators indexed in ${splunk.posts} requests`,
      `[SIMULATED sink] Microsoft Sentinel at ${sentinel.url}: ${sentinel.indicators.size} indicators stored in ${sentinel.uploads} uploads`,
    ],
    close: async () => {
      await Promise.all(all.map((s) => s.close()));
    },
  };
}
