// Orchestration at scale (issue #8), against zero-latency vendor fakes and a real dev server:
//   bound   the rate at which the server the cycles run on (CYCLE_SERVER) completes trivial child workflows
//           under IngestCycle's fan-out (same window, continue-as-new on suggestion), also split over four
//           intermediate batch workflows, and for comparison on the other kinds of server (in memory, a
//           SQLite file with and without WAL / synchronous=OFF); then the same fan-out of children shaped
//           like the real mix (an idle activity per vendor queue an indicator asks), what the server and
//           the SDK cost before any of iocflow's own work
//   known   a cycle of KNOWN_TOTAL indicators of which 95% are already known and fresh
//   new     NEW_COUNT new indicators through the whole flow (collect, plan, enrich, score, decay, deliver)
//   naive   a cron script's approach: the same enrichers called one IOC after the other, no Temporal, at
//           50 ms per vendor call, against iocflow over the same fakes at the same latency
//
//   node --import tsx bench/orchestration.bench.ts [bound|known|new|naive ...]     (default: all)
//   sizes: BOUND_COUNT (2000), KNOWN_TOTAL (100000), NEW_COUNT (10000), LATENCY_COUNT (2000), NAIVE_COUNT (300);
//   CYCLE_WINDOW (cycle.maxConcurrentChildren, 200), CYCLE_SERVER (file-wal, or memory)
import protos from '@temporalio/proto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { configSchema } from '../src/config/index.js';
import { durationMs } from '../src/config/primitives.js';
import { createEnricher, vendorsFor } from '../src/enrichers/index.js';
import { Pacer } from '../src/enrichers/pacer.js';
import { createHttpClient } from '../src/http/client.js';
import { enrichWithVendor } from '../src/pipeline/enrich.js';
import { scoreAndRecord } from '../src/pipeline/score.js';
import { progressQuery, vendorTaskQueue, type CycleProgress, type Vendor } from '../src/shared/messages.js';
import { openStore, recordSightings } from '../src/store/index.js';
import { startCycleNow } from '../src/temporal/cycles.js';
import { installSdkLogger } from '../src/temporal/logging.js';
import { startVendorFakes } from '../test/fakes/vendors.js';
import { startPipeline } from '../test/support/pipeline.js';
import { devServer, SERVER_KINDS, type ServerKind } from './support/dev-server.js';
import { cpuPer, cpuSnapshot, runFanOut } from './support/fan-out.js';
import { feedSightings, mixedIndicator } from './support/indicators.js';

const size = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const BOUND_COUNT = size('BOUND_COUNT', 2000);
const KNOWN_TOTAL = size('KNOWN_TOTAL', 100_000);
const NEW_COUNT = size('NEW_COUNT', 10_000);
const LATENCY_COUNT = size('LATENCY_COUNT', 2000);
const NAIVE_COUNT = size('NAIVE_COUNT', 300);
const WINDOW = size('CYCLE_WINDOW', configSchema.parse({}).cycle.maxConcurrentChildren);
const chosen = new Set(process.argv.slice(2));
const wanted = (name: string) => chosen.size === 0 || chosen.has(name);

installSdkLogger();

const CYCLE_SERVER: ServerKind = process.env.CYCLE_SERVER === 'memory' ? 'memory' : 'file-wal';

/** Peak resident memory of this process (worker, fakes and bench together), sampled every 200 ms. */
function peakRss(): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 200);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Children completed per second under IngestCycle's fan-out on a fresh server: trivial ones (the bound), or
 * ones shaped like the real flow's (idle activities on the vendor queues the indicator mix asks for).
 */
async function fanOutRate(
  kind: ServerKind,
  count: number,
  options: { partitions?: number; shapes?: string[][]; label?: string } = {},
): Promise<number> {
  const env = await devServer(kind);
  try {
    const { rate, cpu } = await runFanOut(env, { count, window: WINDOW, ...options });
    const shape = (options.partitions ?? 1) === 1 ? 'one parent' : `${options.partitions} batch workflows`;
    const children = options.label ?? 'trivial children';
    console.log(
      `  ${options.shapes ? 'shape' : 'bound'}, dev server ${kind}, ${shape}: ${count} ${children}, ` +
        `${rate.toFixed(1)} children/s; ${cpu}`,
    );
    return rate;
  } finally {
    await env.teardown();
    env.cleanup();
  }
}

/**
 * The vendor task queues each child of the indicator mix below uses, in the same rotation: an IP asks all
 * three vendors, a domain and a hash VirusTotal alone.
 */
const MIX_VENDORS: Vendor[][] = [['virustotal', 'shodan', 'abuseipdb'], ['virustotal'], ['virustotal']];
const MIX_SHAPES = MIX_VENDORS.map((vendors) => vendors.map((vendor) => vendorTaskQueue('bench', vendor)));

interface CycleFigures {
  wallMs: number;
  enrichMs: number;
  progress: CycleProgress;
  historyEvents: number;
  historyBytes: number;
  runs: number;
  peakRss: number;
  cpu: string;
}

/**
 * One cycle over `total` indicators of which the first `known` were scored in an earlier cycle with
 * fresh vendor answers (seeded straight into the store: enriching 95,000 IOCs first would measure that,
 * not this), against vendor fakes answering in `latencyMs`.
 */
async function cycleRun(options: { total: number; known: number; latencyMs: number }): Promise<CycleFigures> {
  // The dev server's fastest setting here (see the bound): a SQLite file with WAL and synchronous=OFF.
  const env = await devServer(CYCLE_SERVER);
  const window = { requests: 100_000, windowMs: 1000 };
  const fakes = await startVendorFakes({
    rateLimit: window,
    dailyQuota: 10_000_000,
    latencyMs: options.latencyMs,
  });
  const rateLimit = { requests: 1000, per: '1s' };
  const pipeline = await startPipeline(env.address, {
    sources: { feed: { type: 'plain', path: 'feed.txt', reliability: 80 } },
    sinks: { out: { type: 'file', path: 'out.jsonl' } },
    cycle: { maxConcurrentChildren: WINDOW },
    enrichers: fakes.enrichers(rateLimit, 10_000_000),
  });
  try {
    const lines = Array.from({ length: options.total }, (_, i) => mixedIndicator(i));
    writeFileSync(join(pipeline.dir, 'feed.txt'), lines.join('\n') + '\n');
    if (options.known > 0) seedKnown(pipeline.store, lines.slice(0, options.known));

    const memory = peakRss();
    const cpuBefore = cpuSnapshot();
    const started = performance.now();
    const handle = await startCycleNow(pipeline.client, pipeline.config);
    let enrichStart = 0;
    let enrichEnd = 0;
    // One progress query at a time, awaited before the connection closes (a query the client is still
    // retrying would otherwise outlive it).
    let polling: Promise<void> = Promise.resolve();
    let done = false;
    const poll = async () => {
      while (!done) {
        const p = await handle.query(progressQuery).catch(() => undefined);
        if (p?.stage === 'enriching' && !enrichStart) enrichStart = performance.now();
        if (p && p.stage !== 'enriching' && enrichStart && !enrichEnd) enrichEnd = performance.now();
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    polling = poll();
    const report = await handle.result();
    const wallMs = performance.now() - started;
    const cpu = cpuPer(cpuBefore, cpuSnapshot(), options.total - options.known, 'new IOC');
    done = true;
    await polling;
    const peak = memory.stop();

    let historyEvents = 0;
    let historyBytes = 0;
    let runs = 0;
    for await (const run of pipeline.client.workflow.list({ query: `WorkflowId = '${report.cycleId}'` })) {
      runs++;
      const history = await pipeline.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      historyEvents = Math.max(historyEvents, history.events?.length ?? 0);
      historyBytes = Math.max(
        historyBytes,
        protos.temporal.api.history.v1.History.encode(history).finish().length,
      );
    }
    return {
      wallMs,
      enrichMs: (enrichEnd || performance.now()) - (enrichStart || started),
      progress: report.progress,
      historyEvents,
      historyBytes,
      runs,
      peakRss: peak,
      cpu,
    };
  } finally {
    await pipeline.stop();
    await fakes.close();
    await env.teardown();
    env.cleanup();
  }
}

/** The known share as an earlier cycle leaves it: scored, vendor answers fresh, nothing due. */
function seedKnown(store: ReturnType<typeof openStore>, values: string[]): void {
  const seenAt = Date.now() - 3_600_000;
  const sightings = feedSightings(values, seenAt);
  for (let i = 0; i < sightings.length; i += 5000)
    recordSightings(store.db, sightings.slice(i, i + 5000), 'seed');
  const future = Date.now() + 7 * 86_400_000;
  store.db.run(sql`update iocs set status = 'scored', score = 60, severity = 'medium', score_version = 1,
    scored_at = ${seenAt}, enrichment_due_at = ${future}, decay_due_at = ${future}, decay_on_sighting = 0`);
}

function printCycle(label: string, f: CycleFigures): void {
  const started = f.progress.started;
  console.log(`  ${label}`);
  console.log(
    `    wall ${seconds(f.wallMs)}; enrichment ${seconds(f.enrichMs)} for ${started} children ` +
      `(${(started / (f.enrichMs / 1000)).toFixed(1)} children/s); planned ${f.progress.planned}, ` +
      `completed ${f.progress.completed}, failed ${f.progress.failed}`,
  );
  console.log(
    `    largest IngestCycle history: ${f.historyEvents} events, ${(f.historyBytes / 1024).toFixed(0)} KiB ` +
      `(${f.runs} run${f.runs === 1 ? '' : 's'}, continued as new ${f.runs - 1}×); peak RSS ${mib(f.peakRss)}`,
  );
  console.log(`    ${f.cpu}`);
}

/** What a single cron script does: each IOC in turn, each vendor in turn, then score. */
async function naiveBaseline(count: number, latencyMs: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'iocflow-naive-'));
  const fakes = await startVendorFakes({
    rateLimit: { requests: 100_000, windowMs: 1000 },
    dailyQuota: 10_000_000,
    latencyMs,
  });
  const rateLimit = { requests: 1000, per: '1s' };
  const config = configSchema.parse({
    sources: { feed: { type: 'plain', path: 'feed.txt', reliability: 80 } },
    enrichers: fakes.enrichers(rateLimit),
  });
  const store = openStore(join(dir, 'naive.db'));
  const http = createHttpClient();
  try {
    const started = performance.now();
    const values = Array.from({ length: count }, (_, i) => mixedIndicator(i));
    const sightings = feedSightings(values, Date.now());
    recordSightings(store.db, sightings, 'naive');
    for (const s of sightings) {
      for (const vendor of vendorsFor(s.type, config)) {
        const settings = config.enrichers[vendor]!;
        await enrichWithVendor(s.key, false, {
          db: store.db,
          config,
          enricher: createEnricher(vendor, config, { http })!,
          pacer: new Pacer(settings.rateLimit.requests, durationMs(settings.rateLimit.per)),
          now: Date.now,
        });
      }
      scoreAndRecord(store.db, config, s.key, 'naive', Date.now());
    }
    return count / ((performance.now() - started) / 1000);
  } finally {
    store.close();
    await fakes.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `orchestration benchmark (window ${WINDOW} children; cycles on a dev server ${CYCLE_SERVER}; ` +
    'vendors answer in 0 ms unless stated)',
);
let bound: number | undefined;
let shapeRate: number | undefined;
if (wanted('bound')) {
  // The bound and the shape on the kind of server the cycles run on; the other kinds for comparison.
  bound = await fanOutRate(CYCLE_SERVER, BOUND_COUNT);
  await fanOutRate(CYCLE_SERVER, BOUND_COUNT, { partitions: 4 });
  for (const kind of SERVER_KINDS.filter((k) => k !== CYCLE_SERVER))
    await fanOutRate(kind, Math.min(BOUND_COUNT, 1000));
  shapeRate = await fanOutRate(CYCLE_SERVER, BOUND_COUNT, {
    shapes: MIX_SHAPES,
    label: 'children of the real mix, idle activities',
  });
}
if (wanted('known')) {
  const known = Math.round(KNOWN_TOTAL * 0.95);
  const f = await cycleRun({ total: KNOWN_TOTAL, known, latencyMs: 0 });
  printCycle(`known: ${KNOWN_TOTAL} indicators, ${known} already known and fresh (target: under 60 s)`, f);
}
if (wanted('new')) {
  const f = await cycleRun({ total: NEW_COUNT, known: 0, latencyMs: 0 });
  printCycle(`new: ${NEW_COUNT} new indicators through the whole flow`, f);
  if (bound) {
    const rate = f.progress.started / (f.enrichMs / 1000);
    console.log(
      `    ${((rate / bound) * 100).toFixed(0)}% of the orchestration bound (target: at least 70%)` +
        (shapeRate ? `; ${((rate / shapeRate) * 100).toFixed(0)}% of the same mix with idle activities` : ''),
    );
  }
}
if (wanted('naive')) {
  const naive = await naiveBaseline(NAIVE_COUNT, 50);
  console.log(
    `  naive: sequential cron-style enrichment at 50 ms per call: ${naive.toFixed(1)} IOCs/s (${NAIVE_COUNT} IOCs)`,
  );
  const f = await cycleRun({ total: LATENCY_COUNT, known: 0, latencyMs: 50 });
  printCycle(`iocflow at 50 ms per vendor call: ${LATENCY_COUNT} new indicators`, f);
  const rate = f.progress.completed / (f.wallMs / 1000);
  console.log(
    `    iocflow ${rate.toFixed(1)} IOCs/s over the whole cycle: ${(rate / naive).toFixed(1)}× the naive baseline`,
  );
}
process.exit(0);
