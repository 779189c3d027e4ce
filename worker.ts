import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createActivities, type ActivityDeps } from './activities/index.js';
import { createVendorActivity } from './activities/vendors.js';
import { durationMs } from './src/config/primitives.js';
import { createHttpClient } from './src/http/client.js';
import { VENDORS } from './src/enrichers/index.js';
import { vendorTaskQueue } from './src/shared/messages.js';
import { nativeConnectionOptions } from './src/temporal/connection.js';

/** The bundler compiles the TypeScript source itself. */
const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface WorkerOptions extends ActivityDeps {
  address: string;
  /** Reuse a connection (tests); otherwise one is opened and closed with the worker. */
  connection?: NativeConnection;
}

export interface RunningWorker {
  /** The main queue's worker, then one per enabled vendor. */
  workers: Worker[];
  /** Resolves when every worker has stopped; rejects if one crashed. */
  done: Promise<void>;
  /** Graceful: stop polling, let in-flight tasks finish, then close. */
  stop(): Promise<void>;
}

/**
 * Starts the workers of one iocflow process: the main task queue (IngestCycle, EnrichIoc and the
 * activities that are not rate limited), and one queue per enabled vendor whose queue-wide rate limit is
 * the vendor's, so the limit holds however many processes run.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { config } = options;
  const connection =
    options.connection ??
    (await NativeConnection.connect(
      nativeConnectionOptions({ ...config.temporal, address: options.address }),
    ));
  const http = options.http ?? createHttpClient();
  const common = { connection, namespace: config.temporal.namespace };
  const workers = [
    await Worker.create({
      ...common,
      taskQueue: config.temporal.taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: createActivities({ ...options, http }),
    }),
  ];
  for (const vendor of VENDORS) {
    const settings = config.enrichers[vendor];
    if (!settings?.enabled) continue;
    const perSecond = settings.rateLimit.requests / (durationMs(settings.rateLimit.per) / 1000);
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: vendorTaskQueue(config.temporal.taskQueue, vendor),
        activities: createVendorActivity(vendor, { ...options, http }),
        // Every worker of this queue must set the same value: the server applies the last poller's.
        maxTaskQueueActivitiesPerSecond: perSecond,
        // Enough slots for two seconds of calls: lookups wait in the server's queue, where waiting does not
        // count against their start-to-close timeout, rather than in this process's pacer.
        maxConcurrentActivityTaskExecutions: Math.max(2, Math.ceil(perSecond * 2)),
      }),
    );
  }
  const done = Promise.all(workers.map((w) => w.run()))
    .then(() => undefined)
    .finally(async () => {
      if (!options.connection) await connection.close();
    });
  return {
    workers,
    done,
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
    },
  };
}
