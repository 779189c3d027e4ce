import { Client, Connection } from '@temporalio/client';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { stringify } from 'yaml';
import { startWorker, type RunningWorker } from '../../worker.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import type { AllowlistMatcher } from '../../src/pipeline/collect.js';
import { loadAllowlists } from '../../src/ioc/index.js';
import type { CycleReport } from '../../src/shared/messages.js';
import { startCycleNow } from '../../src/temporal/cycles.js';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { testNamespace } from './namespace.js';

export interface Pipeline {
  dir: string;
  config: Config;
  store: Store;
  client: Client;
  worker: RunningWorker;
  runCycle(): Promise<CycleReport>;
  stop(): Promise<void>;
}

/**
 * A whole iocflow pipeline against a Temporal server (the test run's, or the history recorder's): a config file written to a temp
 * folder and loaded by the real loader, a fresh store, and a worker on a task queue of its own.
 */
export async function startPipeline(
  address: string,
  sections: Record<string, unknown>,
  options: {
    allowlists?: AllowlistMatcher;
    /** For a server of the test's own; the shared one has a namespace per vitest worker. */
    namespace?: string;
    /** The folder (config, store, feeds) of a pipeline stopped before: the same deployment, reconfigured. */
    dir?: string;
  } = {},
): Promise<Pipeline> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'iocflow-test-'));
  const id = randomUUID().slice(0, 8);
  writeFileSync(
    join(dir, 'config.yaml'),
    stringify({
      temporal: { address, namespace: options.namespace ?? testNamespace(), taskQueue: `test-${id}` },
      store: { path: 'iocflow.db' },
      schedule: { id: `test-cycle-${id}` },
      ...sections,
    }),
  );
  const { config } = loadConfig(join(dir, 'config.yaml'), { TEMPORAL_ADDRESS: address });
  const store = openStore(config.store.path);
  const worker = await startWorker({
    config,
    store,
    allowlists: options.allowlists ?? (await loadAllowlists(config.allowlists, { baseDir: dir })),
    address,
  });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  return {
    dir,
    config,
    store,
    client,
    worker,
    runCycle: async () => (await startCycleNow(client, config)).result(),
    async stop() {
      await worker.stop();
      await connection.close();
      store.close();
    },
  };
}

/** The two sample feeds of examples/, as sources of a test pipeline (copied into its folder by `copySampleFeeds`). */
export const SAMPLE_SOURCES = {
  'c2-blocklist': { type: 'plain', path: 'c2-blocklist.txt', reliability: 85, tags: ['c2'] },
  'community-watchlist': { type: 'plain', path: 'community-watchlist.txt', reliability: 40 },
};

export function copySampleFeeds(dir: string): void {
  for (const file of ['c2-blocklist.txt', 'community-watchlist.txt']) {
    copyFileSync(join(PROJECT_ROOT, 'examples', 'feeds', file), join(dir, file));
  }
}
