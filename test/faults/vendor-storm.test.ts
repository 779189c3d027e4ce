import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { CycleReport } from '../../src/shared/messages.js';
import { startAbuseIpdbFake, type AbuseIpdbFake } from '../fakes/abuseipdb.js';
import { Storm, type StormOptions } from '../fakes/faults.js';
import type { RecordedRequest } from '../fakes/server.js';
import { startShodanFake, type ShodanFake } from '../fakes/shodan.js';
import { startVirusTotalFake, type VirusTotalFake } from '../fakes/virustotal.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';
import { generateFeed, readStore, servedLookups } from './support/scenario.js';

const FEED = generateFeed('storm', 48, 160);
/** Lookups of these values always answer 503: each vendor that applies to them must end in a gap. */
const DOWN = new Set([FEED[0]!, FEED[3]!, FEED[6]!, FEED[10]!]);
const SEED = Number(process.env.STORM_SEED ?? 20261127);
/** The vendors' limit, and what iocflow is configured with: what an operator copies from the vendor's docs. */
const LIMIT = { requests: 15, windowMs: 1000 };
const VENDOR_TIMEOUT_MS = 500;
/**
 * What AbuseIPDB's storm 429s ask for in Retry-After; VirusTotal and Shodan send no hint, and iocflow then
 * waits the configured rate window. Longer than that window, so the two waits are told apart.
 */
const RETRY_AFTER_S = 2;

const stormOptions = (seed: number): StormOptions => ({
  serverErrorRate: 0.3,
  hangRate: 0.05,
  hangMs: VENDOR_TIMEOUT_MS * 3,
  burstRate: 0.02,
  burstLength: 4,
  retryAfterSeconds: RETRY_AFTER_S,
  seed,
  alwaysDown: (path, query) =>
    DOWN.has(decodeURIComponent(path.split('/').at(-1) ?? '')) || DOWN.has(query.get('ipAddress') ?? ''),
});

/** The value a vendor request looked up, as the feed spells it. */
const lookedUp = {
  virustotal: (r: RecordedRequest) => decodeURIComponent(r.path.split('/').at(-1) ?? ''),
  shodan: (r: RecordedRequest) => decodeURIComponent(r.path.split('/').at(-1) ?? ''),
  abuseipdb: (r: RecordedRequest) => r.query.get('ipAddress') ?? '',
};

/** The most requests that arrived within any window of `windowMs`. */
function busiestWindow(requests: RecordedRequest[], windowMs: number): number {
  const at = requests.map((r) => r.at).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; j < at.length; j++) {
    while (at[j]! - at[i]! >= windowMs) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

describe(`a vendor storm (seed ${SEED}) over a cycle of ${FEED.length} IOCs`, () => {
  let pipeline: Pipeline;
  let vt: VirusTotalFake;
  let shodan: ShodanFake;
  let abuse: AbuseIpdbFake;
  const storms = {
    virustotal: new Storm(stormOptions(SEED)),
    shodan: new Storm(stormOptions(SEED + 1)),
    abuseipdb: new Storm(stormOptions(SEED + 2)),
  };
  let report: CycleReport;

  beforeAll(async () => {
    vt = await startVirusTotalFake({ rateLimit: LIMIT, dailyQuota: 100_000, storm: storms.virustotal });
    shodan = await startShodanFake({ rateLimit: LIMIT, storm: storms.shodan });
    abuse = await startAbuseIpdbFake({ rateLimit: LIMIT, dailyQuota: 100_000, storm: storms.abuseipdb });
    const rateLimit = { requests: LIMIT.requests, per: '1s' };
    const vendor = { rateLimit, timeoutMs: VENDOR_TIMEOUT_MS };
    pipeline = await startPipeline(inject('temporalAddress'), {
      sources: { feed: { type: 'plain', path: 'feed.txt', reliability: 80 } },
      enrichers: {
        virustotal: { ...vendor, apiKey: 'vt-test-key', baseUrl: `${vt.url}/api/v3`, dailyBudget: 100_000 },
        shodan: { ...vendor, apiKey: 'shodan-test-key', baseUrl: shodan.url },
        abuseipdb: {
          ...vendor,
          apiKey: 'abuseipdb-test-key',
          baseUrl: `${abuse.url}/api/v2`,
          dailyBudget: 100_000,
        },
      },
      sinks: { out: { type: 'file', path: 'out.jsonl', threshold: 0 } },
    });
    writeFileSync(join(pipeline.dir, 'feed.txt'), FEED.join('\n') + '\n');
    report = await pipeline.runCycle();
    console.info(
      `storm seed ${SEED}: ` +
        Object.entries(storms)
          .map(([v, s]) => `${v} ${JSON.stringify(s.tally)}`)
          .join('; ') +
        `; requests vt ${vt.requests.length}, shodan ${shodan.requests.length}, abuseipdb ${abuse.requests.length}`,
    );
  }, 110_000);

  afterAll(async () => {
    await pipeline?.stop();
    await Promise.all([vt?.close(), shodan?.close(), abuse?.close()]);
  });

  test('the storm happened: every kind of fault was served', () => {
    for (const storm of Object.values(storms)) {
      expect(storm.tally.serverError).toBeGreaterThan(0);
      expect(storm.tally.alwaysDown).toBeGreaterThan(0);
    }
    const all = Object.values(storms).map((s) => s.tally);
    expect(all.reduce((n, t) => n + t.hang, 0)).toBeGreaterThan(0);
    expect(all.reduce((n, t) => n + t.burst429, 0)).toBeGreaterThan(0);
  });

  test('the cycle completes and every IOC is scored once and delivered once', () => {
    expect(report.progress).toMatchObject({ planned: FEED.length, completed: FEED.length, failed: 0 });
    expect(report.sinks).toEqual([
      expect.objectContaining({ sink: 'out', delivered: FEED.length, pending: 0 }),
    ]);
    const rows = readStore(pipeline.dir, (db) => ({
      iocs: db.prepare('select value, status from iocs').all() as { value: string; status: string }[],
      versions: db.prepare('select ioc_id, count(*) as n from scores group by 1').all() as { n: number }[],
    }));
    expect(rows.iocs.map((r) => r.value).sort()).toEqual([...FEED].sort());
    expect(rows.iocs.every((r) => r.status === 'scored')).toBe(true);
    expect(rows.versions).toHaveLength(FEED.length);
    expect(rows.versions.every((v) => v.n === 1)).toBe(true);
  });

  test('every degraded enrichment is recorded as a gap and shown in the explanation; no answer is lost', () => {
    const rows = readStore(
      pipeline.dir,
      (db) =>
        db
          .prepare(
            `select i.value, e.vendor, e.outcome, e.gap, s.explanation
               from enrichments e join iocs i on i.id = e.ioc_id
               join scores s on s.ioc_id = i.id and s.version = i.score_version`,
          )
          .all() as {
          value: string;
          vendor: string;
          outcome: string | null;
          gap: string | null;
          explanation: string;
        }[],
    );
    const vendors = { virustotal: vt, shodan, abuseipdb: abuse } as const;
    let gaps = 0;
    for (const [vendor, fake] of Object.entries(vendors) as [keyof typeof vendors, typeof vt][]) {
      const answered = new Set(servedLookups(fake.requests, lookedUp[vendor]).keys());
      const asked = new Set(fake.requests.map(lookedUp[vendor]));
      const mine = rows.filter((r) => r.vendor === vendor);
      // One row per IOC the vendor was asked about: an answer or a gap, never neither.
      expect(new Set(mine.map((r) => r.value))).toEqual(asked);
      for (const row of mine) {
        if (answered.has(row.value)) {
          const trail = JSON.stringify(
            fake.requests
              .filter((r) => lookedUp[vendor](r) === row.value)
              .map((r) => [r.at, r.status, r.answeredAt]),
          );
          expect(row.outcome, `${vendor} ${row.value} ${row.gap} ${trail}`).not.toBeNull();
          expect(row.gap, `${vendor} ${row.value}`).toBeNull();
        } else {
          gaps++;
          expect(row.outcome, `${vendor} ${row.value}`).toBeNull();
          expect(row.gap, `${vendor} ${row.value}`).toMatch(/50[034]|timed out|rate limited|Unavailable/);
          const explanation = JSON.parse(row.explanation) as { factor: string; input: string }[];
          expect(explanation).toContainEqual(
            expect.objectContaining({ factor: 'vendor unavailable', input: `${vendor}: ${row.gap}` }),
          );
        }
      }
      for (const value of DOWN) {
        if (asked.has(value)) expect(answered.has(value), `${vendor} ${value}`).toBe(false);
      }
    }
    // DOWN holds 2 IPs (3 vendors each) and 2 VirusTotal-only values.
    expect(gaps).toBeGreaterThanOrEqual(8);
  });

  test('a 429 is tried again only after the wait: the rate window where the vendor names none, Retry-After where it does', () => {
    const waitMs = { virustotal: LIMIT.windowMs, shodan: LIMIT.windowMs, abuseipdb: RETRY_AFTER_S * 1000 };
    const retried = { virustotal: 0, shodan: 0, abuseipdb: 0 };
    const vendors = { virustotal: vt, shodan, abuseipdb: abuse } as const;
    for (const [vendor, fake] of Object.entries(vendors) as [keyof typeof vendors, typeof vt][]) {
      const requests = fake.requests;
      for (const [i, limited] of requests.entries()) {
        if (limited.status !== 429) continue;
        const value = lookedUp[vendor](limited);
        const again = requests.slice(i + 1).find((r) => lookedUp[vendor](r) === value);
        if (!again) continue;
        retried[vendor]++;
        expect(again.at - limited.answeredAt!, `${vendor} ${value}`).toBeGreaterThanOrEqual(waitMs[vendor]);
      }
    }
    // The storm's 429s from the vendors that send no hint were retried, and waited for.
    expect(retried.virustotal + retried.shodan).toBeGreaterThan(0);
  });

  test('no vendor ever received more requests in a window than its limit', () => {
    for (const fake of [vt, shodan, abuse]) {
      expect(busiestWindow(fake.requests, LIMIT.windowMs)).toBeLessThanOrEqual(LIMIT.requests);
      expect(fake.counts.rateLimited).toBe(0);
    }
  });
});
