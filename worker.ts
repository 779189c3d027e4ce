import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createActivities, type ActivityDeps } from './activities/index.js';

/** The bundler compiles the TypeScript source itself. */
const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface WorkerOptions extends ActivityDeps {
  address: string;
  /** Reuse a connection (tests); otherwise one is opened and closed with the worker. */
  connection?: NativeConnection;
}

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped; rejects if it crashed. */
  done: Promise<void>;
  /** Graceful: stop polling, let in-flight tasks finish, then close. */
  stop(): Promise<void>;
}

/**
 * Starts the worker of the main task queue: IngestCycle and EnrichIoc, and the activities that are not
 * rate limited by a vendor. Vendor queues get workers of their own as the enrichers arrive.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { config } = options;
  const connection = options.connection ?? (await NativeConnection.connect({ address: options.address }));
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: createActivities(options),
  });
  const done = worker.run().finally(async () => {
    if (!options.connection) await connection.close();
  });
  return {
    worker,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
