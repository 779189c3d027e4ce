// The store's share of one IOC's enrichment, on one core, with no HTTP and no Temporal: for each vendor
// the IOC asks, the lookup's cache read, budget reservation and stored answer; then the scoring's reads
// and writes (IOC and sightings, score version, sink outbox, due times). Vendors answer at once with a
// fixed verdict, so what is measured is SQLite and the code around it, over a file store as in production.
//   node --import tsx bench/store.bench.ts [iocs]      (default 6000: a third each IPs, domains, hashes)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/index.js';
import { vendorsFor, type Enricher, type Lookup, type VendorName } from '../src/enrichers/index.js';
import { enrichWithVendor } from '../src/pipeline/enrich.js';
import { scoreAndRecord } from '../src/pipeline/score.js';
import { openStore, recordSightings } from '../src/store/index.js';
import { feedSightings, mixedIndicator } from './support/indicators.js';

const COUNT = Number(process.argv[2] ?? 6000);

const ANSWERS: Record<VendorName, Lookup> = {
  virustotal: {
    outcome: 'ok',
    verdict: {
      vendor: 'virustotal',
      malicious: 41,
      suspicious: 2,
      harmless: 20,
      undetected: 27,
      engines: 90,
      reputation: -35,
      tags: ['malware'],
    },
  },
  shodan: {
    outcome: 'ok',
    verdict: { vendor: 'shodan', ports: [22, 443], hostnames: [], tags: ['c2'], vulns: [] },
  },
  abuseipdb: {
    outcome: 'ok',
    verdict: {
      vendor: 'abuseipdb',
      abuseConfidenceScore: 88,
      totalReports: 120,
      distinctReporters: 31,
      isWhitelisted: false,
      isTor: false,
    },
  },
};
const answering = (vendor: VendorName): Enricher => ({ vendor, lookup: async () => ANSWERS[vendor] });

// Budgets above the run's calls: every lookup is a fetch, none a gap.
const endpoint = { baseUrl: 'https://vendor.invalid', apiKey: 'unused', dailyBudget: 1_000_000 };
const config = configSchema.parse({
  sources: { feed: { type: 'plain', path: 'feed.txt', reliability: 80 } },
  enrichers: { virustotal: endpoint, shodan: endpoint, abuseipdb: endpoint },
  sinks: { siem: { type: 'file', path: 'siem.jsonl' }, feedback: { type: 'file', path: 'feedback.jsonl' } },
});

const dir = mkdtempSync(join(tmpdir(), 'iocflow-store-bench-'));
const store = openStore(join(dir, 'iocflow.db'));
try {
  const values = Array.from({ length: COUNT }, (_, i) => mixedIndicator(i));
  const sightings = feedSightings(values, Date.now(), ['c2']);
  recordSightings(store.db, sightings, 'bench');

  let lookups = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (const { key, type } of sightings) {
    for (const vendor of vendorsFor(type, config)) {
      const deps = { db: store.db, config, enricher: answering(vendor), now: Date.now };
      await enrichWithVendor(key, false, deps);
      lookups++;
    }
    scoreAndRecord(store.db, config, key, 'bench', Date.now());
  }
  const wallS = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  console.log(
    `store per IOC (${COUNT} IOCs, ${lookups} vendor lookups, 2 sinks): ` +
      `${((user + system) / 1000 / COUNT).toFixed(2)} ms CPU, ${(COUNT / wallS).toFixed(0)} IOCs/s on one core`,
  );
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
