import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createActivities, type ActivityDeps } from './activities/index.js';
import { createVendorActivity } from './activities/vendors.js';
import { durationMs } from './src/config/primitives.js';
import { createHttpClient } from './src/http/client.js';
import { VENDORS } from './src/enrichers/index.js';
import { vendorTaskQueue } from './src/shared/messages.js';
import { nativeConnectionOptions } from './src/temporal/connection.js';
import { activityLogContext, WORKFLOW_LOG_CONTEXT_MODULE } from './src/observability/activity-log-context.js';
import { PipelineMetrics, serveMetrics } from './src/observability/metrics.js';
import type { Config } from './src/config/index.js';
import { vendorCallsToday, type StoreDb } from './src/store/index.js';

/** The bundler compiles the TypeScript source itself. */
const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface WorkerOptions extends ActivityDeps {
  address: string;
  /** Reuse a connection (tests); otherwise one is opened and closed with the worker. */
  connection?: NativeConnection;
  /** Where the pipeline counts; a new one by default, served at `metrics.listen` when that is set. */
  metrics?: PipelineMetrics;
}

export interface RunningWorker {
  /** The main queue's worker, then one per enabled vendor. */
  workers: Worker[];
  /** Resolves when every worker has stopped; rejects if one crashed. */
  done: Promise<void>;
  /** Graceful: stop polling, let in-flight tasks finish (up to `temporal.shutdownGraceTime`), then close. */
  stop(): Promise<void>;
  metrics: PipelineMetrics;
  /** The pipeline metrics endpoint, when `metrics.listen` is set. */
  metricsUrl?: string;
}

/**
 * Starts the workers of one iocflow process: the main task queue (IngestCycle, EnrichIoc and the
 * activities that are not rate limited), and one queue per enabled vendor whose queue-wide rate limit is
 * the vendor's, so the limit holds however many processes run.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { config } = options;
  const metrics =
    options.metrics ?? new PipelineMetrics({ processMetrics: config.metrics.listen !== undefined });
  metrics.readBudgetsWith(() => budgetsLeft(config, options.store.db));
  // First, so a port already taken fails the start before anything connects.
  const server = config.metrics.listen
    ? await serveMetrics(metrics.registry, config.metrics.listen)
    : undefined;
  let connection: NativeConnection | undefined;
  try {
    connection =
      options.connection ??
      (await NativeConnection.connect(
        nativeConnectionOptions({ ...config.temporal, address: options.address }),
      ));
    const workers = await createWorkers(options, connection, metrics);
    const opened = connection;
    const done = Promise.all(workers.map((w) => w.run()))
      .then(() => undefined)
      .finally(async () => {
        await server?.close();
        if (!options.connection) await opened.close();
      });
    return {
      workers,
      done,
      metrics,
      ...(server ? { metricsUrl: server.url } : {}),
      async stop() {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await done;
      },
    };
  } catch (err) {
    await server?.close();
    if (!options.connection) await connection?.close();
    throw err;
  }
}

async function createWorkers(
  options: WorkerOptions,
  connection: NativeConnection,
  metrics: PipelineMetrics,
): Promise<Worker[]> {
  const { config } = options;
  const http = options.http ?? createHttpClient();
  const common = {
    connection,
    namespace: config.temporal.namespace,
    // On shutdown, in-flight activities get this long before they are cancelled.
    shutdownGraceTime: durationMs(config.temporal.shutdownGraceTime),
  };
  const deps = { ...options, http, metrics };
  const workers = [
    await Worker.create({
      ...common,
      taskQueue: config.temporal.taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: createActivities(deps),
      interceptors: { activity: [activityLogContext], workflowModules: [WORKFLOW_LOG_CONTEXT_MODULE] },
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
        activities: createVendorActivity(vendor, deps),
        interceptors: { activity: [activityLogContext] },
        // Every worker of this queue must set the same value: the server applies the last poller's.
        maxTaskQueueActivitiesPerSecond: perSecond,
        // Enough slots for two seconds of calls: lookups wait in the server's queue, where waiting does not
        // count against their start-to-close timeout, rather than in this process's pacer.
        maxConcurrentActivityTaskExecutions: Math.max(2, Math.ceil(perSecond * 2)),
      }),
    );
  }
  return workers;
}

/** Each enabled vendor's calls left today; the store holds the count every worker shares. */
function budgetsLeft(config: Config, db: StoreDb): { vendor: string; left: number }[] {
  return VENDORS.flatMap((vendor) => {
    const settings = config.enrichers[vendor];
    if (!settings?.enabled) return [];
    return [{ vendor, left: settings.dailyBudget - vendorCallsToday(db, vendor, Date.now()) }];
  });
}
