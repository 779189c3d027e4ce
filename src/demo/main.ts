// `npm run demo [-- --once]`: what `npm start` runs (dev server with Web UI, store, worker, schedule, one
// cycle now), but with every vendor and HTTP sink SIMULATED by the loopback fakes the tests use, so a
// newcomer sees sources, enrichment, scores and deliveries without any API key. State goes to a fresh
// temporary folder; `--once` runs one cycle and exits (the test uses it).

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRuntime } from '../cli/runtime.js';
import { formatCycleReport } from '../cli/format.js';
import type { CycleReport } from '../shared/messages.js';
import { startCycleNow, webUiLink } from '../temporal/cycles.js';
import { installSdkLogger } from '../temporal/logging.js';
import { applySchedule } from '../temporal/schedule.js';
import { ensureTemporal } from '../temporal/server.js';
import { iocWorkflowId } from '../ioc/identity.js';
import { startWorker } from '../../worker.js';
import { SIMULATED_SINKS, writeDemoConfig } from './config.js';
import { startSimulatedServices } from './simulated.js';
import { untilSignalled } from '../cli/signals.js';

const say = (line: string) => process.stderr.write(`iocflow demo: ${line}\n`);

/** An IOC every demo cycle enriches with all three vendors: the Web UI links point at it. */
const SHOWCASE = { type: 'ipv4', value: '185.220.101.47' } as const;

/** The cycle report with every vendor and sink line saying what is simulated. */
function labelSimulated(report: CycleReport, outDir: string): string {
  return formatCycleReport(report)
    .split('\n')
    .map((line) => {
      if (line.startsWith('  enrichment:'))
        return line.replace('enrichment:', 'enrichment (SIMULATED VirusTotal, Shodan, AbuseIPDB):');
      const sink = /^ {2}sink ([^:]+):/.exec(line)?.[1];
      if (sink === undefined) return line;
      const what = SIMULATED_SINKS[sink];
      return line.replace(
        `sink ${sink}:`,
        what ? `sink ${sink} (SIMULATED ${what}):` : `sink ${sink} (local file in ${outDir}):`,
      );
    })
    .join('\n');
}

async function main(once: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'iocflow-demo-'));
  say(
    'SIMULATED vendors and sinks: VirusTotal, Shodan, AbuseIPDB, Splunk HEC and Microsoft Sentinel are ' +
      'loopback fakes (test/fakes/) with fake keys; no real service is called and no API key is needed.',
  );
  const services = await startSimulatedServices();
  const stopping = untilSignalled(say);
  try {
    const configPath = writeDemoConfig(dir, services);
    say(`config ${configPath} (state in ${dir})`);
    const runtime = await openRuntime(configPath);
    const { config } = runtime;
    const temporal = await ensureTemporal(config, { say });
    const worker = await startWorker({ ...runtime, address: temporal.address });
    try {
      if (stopping.fired) return;
      if (!once) {
        say(
          `schedule ${config.schedule.id}: ${await applySchedule(temporal.client, config)} (every ${config.schedule.every})`,
        );
      }
      const handle = await startCycleNow(temporal.client, config);
      say(`cycle ${handle.workflowId}: ${webUiLink(config, handle.workflowId)}`);
      const report = await Promise.race([handle.result(), stopping.then(() => undefined)]);
      if (!report) return;
      process.stdout.write(labelSimulated(report, join(dir, 'out')) + '\n');
      for (const line of services.activity()) process.stdout.write(`  ${line}\n`);
      const base = `${config.temporal.webUiUrl}/namespaces/${config.temporal.namespace}/workflows`;
      say(
        `Web UI: every IOC workflow: ${base}?query=${encodeURIComponent(`TaskQueue = "${config.temporal.taskQueue}"`)}`,
      );
      say(
        `Web UI: one IOC (enriched by SIMULATED vendors): ${webUiLink(config, iocWorkflowId(`${SHOWCASE.type}:${SHOWCASE.value}`))}`,
      );
      say(`Web UI: search by value: ${base}?query=${encodeURIComponent(`IocValue = "${SHOWCASE.value}"`)}`);
      if (once) return;
      say('worker running with SIMULATED vendors and sinks; Ctrl-C stops it');
      await Promise.race([stopping, worker.done]);
    } finally {
      await worker.stop().catch(() => undefined);
      await temporal.close();
      runtime.close();
    }
  } finally {
    await services.close();
    say('stopped');
  }
}

// The summary is the demo's output: the SDK's warnings (a simulated 429 retried, say) would only bury it.
installSdkLogger({ sdkLevel: 'error' });
try {
  await main(process.argv.slice(2).includes('--once'));
} catch (err) {
  process.stderr.write(`iocflow demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
// The SDK's native runtime idles for seconds before letting Node exit; leave once the output is flushed.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit();
