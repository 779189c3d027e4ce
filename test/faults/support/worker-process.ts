import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { deliveryHolder } from '../../../src/pipeline/deliver.js';
import { loadConfig, type Config } from '../../../src/config/index.js';
import { PROJECT_ROOT } from '../../../src/project-root.js';
import { testNamespace } from '../../support/namespace.js';

/** A config file in a temp folder of its own, with a task queue and schedule id no other test uses. */
export function writeTestConfig(
  address: string,
  sections: Record<string, unknown>,
): { dir: string; file: string; config: Config } {
  const dir = mkdtempSync(join(tmpdir(), 'iocflow-fault-'));
  const id = randomUUID().slice(0, 8);
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    stringify({
      temporal: { address, namespace: testNamespace(), taskQueue: `fault-${id}` },
      store: { path: 'iocflow.db' },
      schedule: { id: `fault-cycle-${id}` },
      ...sections,
    }),
  );
  return { dir, file, config: loadConfig(file, { TEMPORAL_ADDRESS: address }).config };
}

export interface WorkerProcess {
  child: ChildProcess;
  /** The identity the SDK gives this worker (`pid@host`), as the server records it on activities. */
  identity: string;
  /** Every line the process wrote, stdout and stderr. */
  output: string[];
  /** Resolves once the worker polls. */
  ready: Promise<void>;
  exited: Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** `node bin/iocflow.js worker --config <file>` against the given server, as an operator runs it. */
export function startWorkerProcess(
  configFile: string,
  address: string,
  env: Record<string, string> = {},
): WorkerProcess {
  const child = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'bin/iocflow.js'), 'worker', '--config', configFile],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env, TEMPORAL_ADDRESS: address },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  let signalReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.setEncoding('utf8').on('data', (text: string) => {
      const lines = (rest + text).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        output.push(line);
        if (line.includes('worker polling')) signalReady();
      }
    });
  }
  const failed = exited.then(() => {
    throw new Error(`the worker exited before polling:\n${output.slice(-20).join('\n')}`);
  });
  return {
    child,
    identity: `${child.pid}@${hostname()}`,
    output,
    ready: Promise.race([ready, failed]),
    exited,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function connectClient(address: string, namespace = testNamespace()) {
  const connection = await Connection.connect({ address });
  return { connection, client: new Client({ connection, namespace }) };
}

/**
 * Fails the activity attempts a killed worker left started, as the server does once their heartbeat or
 * start-to-close timeout runs out (2 minutes for collect and deliver, 1 for scoring): the retry then runs
 * on the new worker. It stands in for the wait, not for the retry: attempts, policies and heartbeat
 * details are the server's. The wait also runs out the sink leases those attempts held (src/pipeline/
 * deliver.ts: they last as long as the deliver heartbeat timeout), so with `storePath` their leases expire
 * first. Returns how many attempts it ended.
 */
export async function expireOrphanedAttempts(
  client: Client,
  taskQueue: string,
  deadIdentity: string,
  storePath?: string,
): Promise<number> {
  let ended = 0;
  const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
  for await (const execution of client.workflow.list({ query })) {
    const description = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
    for (const activity of description.raw.pendingActivities ?? []) {
      const started =
        activity.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
      if (!started || activity.lastWorkerIdentity !== deadIdentity || !activity.activityId) continue;
      if (storePath)
        expireLease(
          storePath,
          deliveryHolder(execution.workflowId, activity.activityId, activity.attempt ?? 1),
        );
      try {
        await client.activity.fail(
          { workflowId: execution.workflowId, runId: execution.runId, activityId: activity.activityId },
          new Error(`worker ${deadIdentity} was killed`),
        );
        ended++;
      } catch {
        // Finished or timed out meanwhile: nothing left to end.
      }
    }
  }
  return ended;
}

function expireLease(storePath: string, holder: string): void {
  const db = new Database(storePath, { fileMustExist: true });
  try {
    db.prepare('update sink_leases set expires_at = 0 where holder = ?').run(holder);
  } finally {
    db.close();
  }
}
