// One real Temporal dev server (the pinned CLI from .tools/, in memory) for the whole test run.
import type { TestProject } from 'vitest/node';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTES } from '../../src/shared/messages.js';
import { serverExecutable } from '../../src/temporal/binaries.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: serverExecutable('cli'),
      searchAttributes: Object.values(SEARCH_ATTRIBUTES),
      // What the SDK's own CI uses: nothing here needs durability across a crash of the test server.
      extraArgs: ['--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF'],
    },
  });
  project.provide('temporalAddress', env.address);
  return () => env.teardown();
}
