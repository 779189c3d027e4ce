import { Runtime } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createLogger } from '../../src/observability/logging.js';
import type { CycleReport } from '../../src/shared/messages.js';
import { installSdkLogger } from '../../src/temporal/logging.js';
import { startAbuseIpdbFake, type AbuseIpdbFake } from '../fakes/abuseipdb.js';
import { startShodanFake, type ShodanFake } from '../fakes/shodan.js';
import { startVirusTotalFake, type VirusTotalFake } from '../fakes/virustotal.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';

// Distinctive keys: any of them in a log line is a leak.
const KEYS = {
  virustotal: 'VT-KEY-3f9a1c77e2b04d5e8a6b-do-not-log',
  shodan: 'SHODAN-KEY-9b8e7d6c5b4a-do-not-log',
  abuseipdb: 'ABUSEIPDB-KEY-0a1b2c3d4e5f-do-not-log',
};
const FEED = [
  '185.220.101.47',
  '45.155.205.233',
  'update-checker-cdn.top',
  '44d88612fea8a8f36de82e1278abb02f',
  'not an indicator',
  '999.1.2.3',
  '',
  'hxxp://paste-relay[.]ru/gate.php',
];
const BUDGET = 50;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseMetrics(text: string): Sample[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`unreadable metrics line: ${line}`);
      const labels = Object.fromEntries(
        [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]),
      );
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

function sum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

describe('logs and metrics of a cycle', () => {
  let vt: VirusTotalFake;
  let shodan: ShodanFake;
  let abuse: AbuseIpdbFake;
  let pipeline: Pipeline;
  let report: CycleReport;
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const window = { requests: 50, windowMs: 1000 };
    vt = await startVirusTotalFake({
      rateLimit: window,
      keys: [KEYS.virustotal],
      unknown: ['update-checker-cdn.top'],
    });
    shodan = await startShodanFake({ rateLimit: window, keys: [KEYS.shodan] });
    abuse = await startAbuseIpdbFake({ rateLimit: window, keys: [KEYS.abuseipdb] });
    // Trace for both the app and the SDK: the most there is to leak.
    const logger = createLogger({
      level: 'trace',
      secrets: Object.values(KEYS),
      destination: {
        write(line: string) {
          raw.push(line);
          lines.push(JSON.parse(line) as Record<string, unknown>);
        },
      },
    });
    installSdkLogger({ logger, sdkLevel: 'debug' });
    const vendor = (key: string, baseUrl: string) => ({
      apiKey: key,
      baseUrl,
      rateLimit: { requests: 40, per: '1s' },
      dailyBudget: BUDGET,
    });
    pipeline = await startPipeline(inject('temporalAddress'), {
      sources: { feed: { type: 'plain', path: 'feed.txt', reliability: 80 } },
      enrichers: {
        virustotal: vendor(KEYS.virustotal, `${vt.url}/api/v3`),
        shodan: vendor(KEYS.shodan, shodan.url),
        abuseipdb: vendor(KEYS.abuseipdb, `${abuse.url}/api/v2`),
      },
      sinks: { out: { type: 'file', path: 'out.jsonl', threshold: 0 } },
      metrics: { listen: '127.0.0.1:0' },
    });
    writeFileSync(join(pipeline.dir, 'feed.txt'), FEED.join('\n') + '\n');
    // One failed attempt per vendor kind: the SDK logs the failure, the retry succeeds.
    vt.script({ status: 500, body: { error: { code: 'TransientError', message: 'try again' } } });
    shodan.script({ status: 503, body: { error: 'busy' } });
    report = await pipeline.runCycle();
    // Forwarded core logs make the SDK buffer its log lines briefly; take them all before looking.
    Runtime.instance().flushLogs();
  });

  afterAll(async () => {
    installSdkLogger();
    await pipeline?.stop();
    await Promise.all([vt?.close(), shodan?.close(), abuse?.close()]);
  });

  test('no credential reaches a log line, even at trace level with failures logged', () => {
    expect(report.progress).toMatchObject({ planned: 5, completed: 5, failed: 0 });
    expect(lines.some((l) => l.msg === 'Activity failed' || String(l.msg).includes('failed'))).toBe(true);
    const text = raw.join('');
    for (const key of Object.values(KEYS)) expect(text).not.toContain(key);
    expect(text).not.toMatch(/[?&]key=(?!\[REDACTED\])/);
  });

  test('every activity line names its cycle, workflow, run, activity type and attempt; IOC lines their key', () => {
    const activityLines = lines.filter((l) => l.sdkComponent === 'activity');
    expect(new Set(activityLines.map((l) => l.msg))).toEqual(
      new Set([
        'source collected',
        'enrichment planned',
        'vendor lookup',
        'scored',
        'scores decayed',
        'sink drained',
        'cycle finished',
      ]),
    );
    for (const line of activityLines) {
      expect(line.cycleId).toBe(report.cycleId);
      expect([line.workflowId, line.workflowRunId, line.activityType].map((v) => typeof v)).toEqual([
        'string',
        'string',
        'string',
      ]);
      expect(line.attempt).toBeGreaterThanOrEqual(1);
      expect(line).not.toHaveProperty('taskToken');
    }
    const lookups = activityLines.filter((l) => l.msg === 'vendor lookup');
    expect(lookups).toHaveLength(5 + 2 + 2); // VirusTotal for all five, Shodan and AbuseIPDB for the two IPs
    for (const l of lookups) {
      expect(l.iocKey).toMatch(/^\w+:/);
      expect(l.workflowId).toBe(`ioc:${l.iocKey as string}`);
    }
    expect(lookups.find((l) => l.iocKey === 'ipv4:185.220.101.47' && l.vendor === 'shodan')).toMatchObject({
      activityType: 'enrichShodan',
      status: 'fetched',
    });
    // The retried lookup says which attempt succeeded.
    expect(Math.max(...lookups.map((l) => l.attempt as number))).toBe(2);
    const scored = activityLines.filter((l) => l.msg === 'scored');
    expect(scored.map((l) => l.iocKey).sort()).toEqual(
      [
        'domain:update-checker-cdn.top',
        'ipv4:185.220.101.47',
        'ipv4:45.155.205.233',
        'md5:44d88612fea8a8f36de82e1278abb02f',
        'url:http://paste-relay.ru/gate.php',
      ].sort(),
    );
    expect(activityLines.find((l) => l.msg === 'source collected')).toMatchObject({ source: 'feed' });
    expect(activityLines.find((l) => l.msg === 'sink drained')).toMatchObject({ sink: 'out' });
  });

  test('the metrics endpoint counts what the cycle report says', async () => {
    const url = pipeline.worker.metricsUrl;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const response = await fetch(url!);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const samples = parseMetrics(await response.text());
    const source = report.sources[0]!;

    expect(sum(samples, 'iocflow_source_entries_total', { source: 'feed' })).toBe(source.entries);
    for (const [reason, n] of Object.entries(source.rejected)) {
      expect(sum(samples, 'iocflow_source_rejected_total', { source: 'feed', reason })).toBe(n);
    }
    expect(sum(samples, 'iocflow_source_rejected_total')).toBe(
      Object.values(source.rejected).reduce((a, b) => a + b, 0),
    );

    const fakes = { virustotal: vt, shodan, abuseipdb: abuse };
    for (const [vendor, fake] of Object.entries(fakes)) {
      expect(sum(samples, 'iocflow_vendor_calls_total', { vendor })).toBe(fake.requests.length);
      expect(sum(samples, 'iocflow_vendor_budget_remaining', { vendor })).toBe(BUDGET - fake.requests.length);
      expect(sum(samples, 'iocflow_vendor_rate_limited_total', { vendor })).toBe(0);
    }
    expect(sum(samples, 'iocflow_vendor_calls_total', { vendor: 'virustotal', outcome: 'failed' })).toBe(1);
    expect(sum(samples, 'iocflow_vendor_calls_total', { vendor: 'virustotal', outcome: 'not_found' })).toBe(
      1,
    );
    expect(sum(samples, 'iocflow_vendor_calls_total', { vendor: 'shodan', outcome: 'failed' })).toBe(1);

    expect(sum(samples, 'iocflow_ioc_score_count')).toBe(report.progress.completed);
    expect(sum(samples, 'iocflow_ioc_score_count', { type: 'ipv4' })).toBe(2);

    const sink = report.sinks[0]!;
    expect(sink.delivered).toBe(5);
    expect(sum(samples, 'iocflow_sink_delivered_total', { sink: 'out' })).toBe(sink.delivered);
    expect(sum(samples, 'iocflow_sink_rejected_total', { sink: 'out' })).toBe(sink.rejected);
    expect(sum(samples, 'iocflow_sink_failures_total')).toBe(0);

    expect(sum(samples, 'iocflow_cycles_total')).toBe(1);
    expect(sum(samples, 'iocflow_cycle_duration_seconds_count')).toBe(1);
    expect(sum(samples, 'iocflow_cycle_duration_seconds_sum')).toBeGreaterThan(0);
    // Node process metrics come with them.
    expect(samples.some((s) => s.name === 'iocflow_process_resident_memory_bytes')).toBe(true);
  });

  test('a second cycle answers from the cache, and the counters move by what it did', async () => {
    const before = parseMetrics(await (await fetch(pipeline.worker.metricsUrl!)).text());
    const second = await pipeline.runCycle();
    const after = parseMetrics(await (await fetch(pipeline.worker.metricsUrl!)).text());
    const delta = (name: string, labels?: Record<string, string>) =>
      sum(after, name, labels) - sum(before, name, labels);
    expect(delta('iocflow_source_entries_total')).toBe(second.sources[0]!.entries);
    expect(second.progress.planned).toBe(0);
    expect(delta('iocflow_vendor_calls_total')).toBe(0);
    expect(delta('iocflow_cycles_total')).toBe(1);
  });
});
