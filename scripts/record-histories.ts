// Re-records the workflow histories that the replay tests replay (test/histories/*.json).
//
//   npm run record-histories
//
// Run it when a workflow change is deliberate and its old histories no longer describe runs worth
// keeping; for a change that must stay compatible, ADD new histories and keep the old ones replaying
// (that is what the replay test is for). Each scenario runs the real pipeline on a throwaway dev server.
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/project-root.js';
import { SEARCH_ATTRIBUTES } from '../src/shared/messages.js';
import { serverExecutable } from '../src/temporal/binaries.js';
import { installSdkLogger } from '../src/temporal/logging.js';
import { copySampleFeeds, SAMPLE_SOURCES, startPipeline } from '../test/support/pipeline.js';

const OUT = join(PROJECT_ROOT, 'test', 'histories');

installSdkLogger();
const env = await TestWorkflowEnvironment.createLocal({
  server: { executable: serverExecutable('cli'), searchAttributes: Object.values(SEARCH_ATTRIBUTES) },
});
const pipeline = await startPipeline(env.address, {
  sources: SAMPLE_SOURCES,
  sinks: { jsonl: { type: 'file', path: 'out/delivered.jsonl' } },
});
copySampleFeeds(pipeline.dir);
mkdirSync(OUT, { recursive: true });

async function save(name: string, workflowId: string): Promise<void> {
  const history = await pipeline.client.workflow.getHandle(workflowId).fetchHistory();
  // The same proto3 JSON as `temporal workflow show --output json` and the Web UI's download.
  writeFileSync(join(OUT, `${name}.json`), historyToJSON(history) + '\n');
  console.log(`recorded ${name}.json (${history.events?.length ?? 0} events)`);
}

try {
  const first = await pipeline.runCycle();
  await save('ingest-cycle.first-cycle', first.cycleId);
  await save('enrich-ioc.corroborated', 'ioc:ipv4:185.220.101.47');
  const second = await pipeline.runCycle();
  await save('ingest-cycle.nothing-new', second.cycleId);
} finally {
  await pipeline.stop();
  await env.teardown();
}
