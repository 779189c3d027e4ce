import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SEARCH_ATTRIBUTES, WORKFLOW_TYPES } from '../../src/shared/messages.js';
import { serverExecutable } from '../../src/temporal/binaries.js';
import { testNamespace } from '../support/namespace.js';
import { copySampleFeeds, SAMPLE_SOURCES, startPipeline, type Pipeline } from '../support/pipeline.js';

// A server that suggests continue-as-new after 60 events, and a window of 5 children: the sample cycle
// then spans several runs, as a 500,000-IOC cycle does at the default limits.
describe('a cycle that continues as new', () => {
  let env: TestWorkflowEnvironment;
  let pipeline: Pipeline;

  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: serverExecutable('cli'),
        searchAttributes: Object.values(SEARCH_ATTRIBUTES),
        extraArgs: [
          '--dynamic-config-value',
          'limit.historyCount.suggestContinueAsNew=60',
          '--namespace',
          testNamespace(),
        ],
      },
    });
    pipeline = await startPipeline(env.address, {
      sources: SAMPLE_SOURCES,
      sinks: { out: { type: 'file', path: 'out.jsonl' } },
      cycle: { maxConcurrentChildren: 5 },
    });
    copySampleFeeds(pipeline.dir);
  });

  afterAll(async () => {
    await pipeline?.stop();
    await env?.teardown();
  });

  test('carries its cursor and totals across runs: every IOC enriched once, counts exact', async () => {
    const report = await pipeline.runCycle();
    const runs: string[] = [];
    for await (const run of pipeline.client.workflow.list({ query: `WorkflowId = '${report.cycleId}'` })) {
      runs.push(run.runId);
    }
    expect(runs.length).toBeGreaterThanOrEqual(2);
    // The same figures as the single-run sample cycle (README): nothing lost or counted twice.
    expect(report.progress).toMatchObject({ planned: 22, started: 22, completed: 22, failed: 0 });
    // Shared IOCs are new to whichever of the two parallel sources stores them first.
    expect(report.sources.reduce((sum, s) => sum + s.newIocs, 0)).toBe(23);
    expect(report.sinks).toMatchObject([{ sink: 'out', delivered: 16, pending: 0 }]);
    // One EnrichIoc run per IOC: no child was started twice by a later run.
    const children = new Map<string, number>();
    const query = `WorkflowType = '${WORKFLOW_TYPES.enrichIoc}' AND TaskQueue = '${pipeline.config.temporal.taskQueue}'`;
    for await (const child of pipeline.client.workflow.list({ query })) {
      children.set(child.workflowId, (children.get(child.workflowId) ?? 0) + 1);
    }
    expect(children.size).toBe(22);
    expect([...children.values()].every((n) => n === 1)).toBe(true);
  });
});
