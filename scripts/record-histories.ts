// Records the workflow histories that the replay tests replay, into test/histories/<set>/.
//
//   npm run record-histories -- <set>        e.g. npm run record-histories -- v2-local-scoring
//
// A set is the histories of one version of the workflow code. Record a new set when a workflow changes and
// keep the older sets replaying until no run of their version can still be open (see "Changing a
// workflow" in the README); delete a set only together with the patch branches it exercised.
//
// Each scenario runs the real pipeline on a throwaway dev server whose continue-as-new suggestion is
// shrunk, so that a cycle continues as new at sample size:
//   ingest-cycle.first-cycle.run-N   the first cycle over the sample feeds, every run of its chain
//   ingest-cycle.second-cycle        a second cycle: nothing new, the IPs Shodan failed on planned again
//   enrich-ioc.corroborated          an IP seen by both feeds, VirusTotal answering, Shodan rejecting the key
//   enrich-ioc.domain                a domain (VirusTotal only)
//   enrich-ioc.reenrich-signal       an analyst's re-enrichment: signal-with-start, forced lookups
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/project-root.js';
import { SEARCH_ATTRIBUTES } from '../src/shared/messages.js';
import { serverExecutable } from '../src/temporal/binaries.js';
import { installSdkLogger } from '../src/temporal/logging.js';
import { reenrichIoc } from '../src/temporal/reenrich.js';
import { startShodanFake } from '../test/fakes/shodan.js';
import { startVirusTotalFake } from '../test/fakes/virustotal.js';
import { copySampleFeeds, SAMPLE_SOURCES, startPipeline } from '../test/support/pipeline.js';

const set = process.argv[2];
if (!set || !/^[a-z0-9][a-z0-9.-]*$/.test(set)) {
  console.error('usage: npm run record-histories -- <set>   (lowercase letters, digits, dots and dashes)');
  process.exit(2);
}
const OUT = join(PROJECT_ROOT, 'test', 'histories', set);

installSdkLogger();
const env = await TestWorkflowEnvironment.createLocal({
  server: {
    executable: serverExecutable('cli'),
    searchAttributes: Object.values(SEARCH_ATTRIBUTES),
    // With a window of 5 children, the first cycle passes this many events two or three times.
    extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=60'],
  },
});
const vt = await startVirusTotalFake({ rateLimit: { requests: 1000, windowMs: 1000 }, dailyQuota: 100_000 });
// Shodan is given a key it refuses, so the IP's history holds a vendor that failed (non-retryable).
const shodan = await startShodanFake({ rateLimit: { requests: 1000, windowMs: 1000 } });
const rateLimit = { requests: 500, per: '1s' };
const pipeline = await startPipeline(env.address, {
  sources: SAMPLE_SOURCES,
  sinks: { jsonl: { type: 'file', path: 'out/delivered.jsonl' } },
  cycle: { maxConcurrentChildren: 5 },
  enrichers: {
    virustotal: { apiKey: 'vt-test-key', baseUrl: `${vt.url}/api/v3`, rateLimit },
    shodan: { apiKey: 'not-a-shodan-key', baseUrl: shodan.url, rateLimit },
  },
});
copySampleFeeds(pipeline.dir);
mkdirSync(OUT, { recursive: true });
if (readdirSync(OUT).length > 0) {
  console.error(`${OUT} is not empty: record a new set under a new name`);
  process.exit(2);
}

async function save(name: string, workflowId: string, runId?: string): Promise<number> {
  const history = await pipeline.client.workflow.getHandle(workflowId, runId).fetchHistory();
  // The same proto3 JSON as `temporal workflow show --output json` and the Web UI's download.
  writeFileSync(join(OUT, `${name}.json`), historyToJSON(history) + '\n');
  const events = history.events?.length ?? 0;
  console.log(`recorded ${set}/${name}.json (${events} events)`);
  return events;
}

/** Every run of a workflow ID, oldest first. */
async function runsOf(workflowId: string): Promise<string[]> {
  const runs: { runId: string; start: number }[] = [];
  for await (const execution of pipeline.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    runs.push({ runId: execution.runId, start: execution.startTime.getTime() });
  }
  return runs.sort((a, b) => a.start - b.start).map((r) => r.runId);
}

try {
  const first = await pipeline.runCycle();
  const runs = await runsOf(first.cycleId);
  if (runs.length < 2) throw new Error(`the first cycle did not continue as new (${runs.length} run)`);
  for (const [i, runId] of runs.entries()) {
    await save(`ingest-cycle.first-cycle.run-${i + 1}`, first.cycleId, runId);
  }
  await save('enrich-ioc.corroborated', 'ioc:ipv4:185.220.101.47');
  await save('enrich-ioc.domain', 'ioc:domain:paste-relay.ru');
  const second = await pipeline.runCycle();
  await save('ingest-cycle.second-cycle', second.cycleId);
  const { workflowId } = await reenrichIoc(pipeline.client, pipeline.config, '185.220.101[.]47');
  await pipeline.client.workflow.getHandle(workflowId).result();
  await save('enrich-ioc.reenrich-signal', workflowId);
} finally {
  await pipeline.stop();
  await Promise.all([vt.close(), shodan.close()]);
  await env.teardown();
}
