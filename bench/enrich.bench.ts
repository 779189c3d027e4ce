// Enrichment against the fakes: 2,000 new IPs, each vendor answering in 50 ms and allowing 20 calls per
// second, with iocflow configured at exactly that limit. Prints the cycle's wall time against the
// rate-limit bound (calls ÷ limit; the three vendors run in parallel) and every 429 the fakes sent, the
// CPU each IOC cost the dev server and this process, and the capacity of the same shape with idle
// activities on a fresh server: what this machine orchestrates before any vendor limit applies.
//
//   node --import tsx bench/enrich.bench.ts [count]     (VENDOR_LIMIT: calls per second per vendor, 20)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSchema } from '../src/config/index.js';
import { VENDORS } from '../src/enrichers/index.js';
import { vendorTaskQueue } from '../src/shared/messages.js';
import { installSdkLogger } from '../src/temporal/logging.js';
import { startVendorFakes } from '../test/fakes/vendors.js';
import { startPipeline } from '../test/support/pipeline.js';
import { devServer } from './support/dev-server.js';
import { benchIp } from './support/indicators.js';
import { cpuPer, cpuSnapshot, runFanOut } from './support/fan-out.js';

const COUNT = Number(process.argv[2] ?? 2000);
const LIMIT = Number(process.env.VENDOR_LIMIT ?? 20);
const LATENCY_MS = 50;

installSdkLogger();
const env = await devServer('memory');
const window = { requests: LIMIT, windowMs: 1000 };
const fakes = await startVendorFakes({ rateLimit: window, dailyQuota: 1_000_000, latencyMs: LATENCY_MS });
const { vt, shodan, abuse } = fakes;
const rateLimit = { requests: LIMIT, per: '1s' };
const pipeline = await startPipeline(env.address, {
  sources: { feed: { type: 'plain', path: 'feed.txt', reliability: 80 } },
  enrichers: fakes.enrichers(rateLimit, 1_000_000),
});
writeFileSync(
  join(pipeline.dir, 'feed.txt'),
  Array.from({ length: COUNT }, (_, i) => benchIp(i)).join('\n') + '\n',
);

const startedAt = Date.now();
const cpuBefore = cpuSnapshot();
const started = performance.now();
const report = await pipeline.runCycle();
const wallS = (performance.now() - started) / 1000;
const cpu = cpuPer(cpuBefore, cpuSnapshot(), COUNT, 'IOC');
// The bound assumes every IP was planned: a feed line the normaliser rejected would shrink the work and
// flatter the ratio.
if (report.progress.planned !== COUNT)
  throw new Error(`only ${report.progress.planned} of ${COUNT} IPs were planned: the bench's feed is wrong`);
const boundS = COUNT / LIMIT;
const byVendor = { virustotal: vt, shodan, abuseipdb: abuse };
console.log(`enrichment of ${COUNT} new IPs, 3 vendors at ${LIMIT}/s each, ${LATENCY_MS} ms per call`);
console.log(
  `  enriched: ${report.progress.completed}/${report.progress.planned}, failed ${report.progress.failed}`,
);
// Where the time outside the vendors' limits goes: before the first call (collect, plan, first children),
// between the first and the last call (the paced part), and after the last (scoring, delivery).
const secondsAfterStart = (at: number) => ((at - startedAt) / 1000).toFixed(1);
for (const [name, fake] of Object.entries(byVendor)) {
  const first = fake.requests[0]?.at ?? startedAt;
  const last = fake.requests.at(-1)?.at ?? startedAt;
  const pacedRate = (fake.requests.length - 1) / Math.max((last - first) / 1000, 0.001);
  const refusedAt = fake.requests.filter((r) => r.status === 429).map((r) => secondsAfterStart(r.at));
  console.log(
    `  ${name}: ${fake.requests.length} calls, ${fake.counts.rateLimited} answered 429${refusedAt.length ? ` (at ${refusedAt.join(', ')} s)` : ''}; first at ${secondsAfterStart(first)} s, last at ${secondsAfterStart(last)} s, ${pacedRate.toFixed(2)} calls/s between them`,
  );
}
console.log(
  `  wall time ${wallS.toFixed(1)} s; rate-limit bound ${boundS.toFixed(1)} s; ratio ${(wallS / boundS).toFixed(3)}`,
);
console.log(`  ${(COUNT / wallS).toFixed(1)} IOCs/s; ${cpu}`);

await pipeline.stop();
await fakes.close();
await env.teardown();
env.cleanup();

// What this machine can orchestrate at all in this shape, whatever the vendors allow: the same number of
// children, each with an idle activity as long as a vendor call on each of three task queues, no limit,
// on a fresh server.
const shapeEnv = await devServer('memory');
const queues = VENDORS.map((vendor) => vendorTaskQueue('bench', vendor));
const shape = await runFanOut(shapeEnv, {
  count: COUNT,
  window: configSchema.parse({}).cycle.maxConcurrentChildren,
  shapes: [queues],
  activityLatencyMs: LATENCY_MS,
});
await shapeEnv.teardown();
shapeEnv.cleanup();
console.log(
  `  capacity of this shape here: ${COUNT} children, each an idle ${LATENCY_MS} ms activity on 3 task queues, ` +
    `${shape.rate.toFixed(1)} children/s (${(COUNT / shape.rate).toFixed(1)} s); ${shape.cpu}`,
);
process.exit(0);
