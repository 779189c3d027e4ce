// One real Temporal dev server (the pinned CLI from .tools/, on a throwaway SQLite file) for the whole test run.
import type { TestProject } from 'vitest/node';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEARCH_ATTRIBUTES } from '../../src/shared/messages.js';
import { serverExecutable } from '../../src/temporal/binaries.js';
import { testNamespaceOf } from './namespace.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'iocflow-test-temporal-'));
  // One namespace per vitest worker (test/support/namespace.ts); the search attributes are registered in each.
  const workers = Math.max(project.globalConfig.maxWorkers || 0, availableParallelism());
  const namespaces = Array.from({ length: workers }, (_, i) => [
    '--namespace',
    testNamespaceOf(i + 1),
  ]).flat();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: serverExecutable('cli'),
      searchAttributes: Object.values(SEARCH_ATTRIBUTES),
      // A SQLite file in WAL mode without fsync completes workflows faster than the in-memory database
      // (bench/orchestration.bench.ts: 43 against 31 children/s); nothing here needs durability.
      extraArgs: [
        '--db-filename',
        join(dir, 'temporal.db'),
        '--sqlite-pragma',
        'journal_mode=WAL',
        '--sqlite-pragma',
        'synchronous=OFF',
        ...namespaces,
      ],
    },
  });
  project.provide('temporalAddress', env.address);
  return async () => {
    await env.teardown();
    rmSync(dir, { recursive: true, force: true });
  };
}
