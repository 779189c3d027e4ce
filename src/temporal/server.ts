import { Client, Connection, isGrpcServiceError, type ConnectionOptions } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/index.js';
import { serverExecutable } from './binaries.js';
import { clientConnectionOptions, describeConnection } from './connection.js';
import { ensureSearchAttributes } from './search-attributes.js';

export interface TemporalHandle {
  connection: Connection;
  client: Client;
  /** host:port of the frontend actually used. */
  address: string;
  /** True when this process started the dev server (and stops it on close). */
  startedDevServer: boolean;
  close(): Promise<void>;
}

export interface EnsureTemporalOptions {
  /** Start a local dev server when nothing answers at the configured address. @default true */
  startDevServer?: boolean;
  /** Log sink for what this does. */
  say?: (line: string) => void;
}

/**
 * Connects to the configured Temporal frontend; when nothing answers there and the address is local,
 * starts the Temporal CLI dev server with its database in the configured file (state survives restarts)
 * and the Web UI on the configured port. Either way the search attributes are registered.
 */
export async function ensureTemporal(
  config: Config,
  options: EnsureTemporalOptions = {},
): Promise<TemporalHandle> {
  const { address, namespace, devServer } = config.temporal;
  const say = options.say ?? (() => undefined);
  // Built (and TLS files read) before the first attempt: a missing file is a config error, not "no server".
  const connectOptions = clientConnectionOptions(config.temporal);
  let stopServer: (() => Promise<void>) | undefined;
  let connection = await tryConnect(connectOptions);
  if (!connection) {
    // The dev server speaks plaintext only: a TLS setting means a real cluster was meant.
    const local = connectOptions.tls === undefined ? parseLocalAddress(address) : undefined;
    if (options.startDevServer === false || !local) {
      throw new Error(
        `No Temporal server answers at ${describeConnection(config.temporal)} (config: temporal.address, env TEMPORAL_ADDRESS). ` +
          (local
            ? 'Start one, or run `iocflow dev`.'
            : 'Check the address, the TLS settings and that the server is up.'),
      );
    }
    mkdirSync(dirname(devServer.dbPath), { recursive: true });
    say(
      `starting the Temporal dev server on ${address} (database ${devServer.dbPath}, Web UI on port ${devServer.uiPort})`,
    );
    stopServer = await startDevServer(config, local);
    connection = await Connection.connect(connectOptions);
  }
  const added = await ensureSearchAttributes(connection, namespace).catch((err: unknown) => {
    // The first call that names the namespace: a missing one is a configuration mistake, so name the key.
    if (isGrpcServiceError(err) && (err.code as number) === GRPC_NOT_FOUND)
      throw new Error(
        `namespace ${namespace} does not exist on ${describeConnection(config.temporal)} (config: temporal.namespace); create it or fix the name`,
      );
    throw err;
  });
  if (added.length > 0) say(`registered search attributes ${added.join(', ')}`);
  const client = new Client({ connection, namespace });
  return {
    connection,
    client,
    address,
    startedDevServer: stopServer !== undefined,
    async close() {
      await connection.close();
      await stopServer?.();
    },
  };
}

/** gRPC status 5 (the SDK does not re-export grpc-js's `status` enum). */
const GRPC_NOT_FOUND = 5;

const DEV_SERVER_START_TIMEOUT_MS = 60_000;

/**
 * Runs `temporal server start-dev` as a child process with its output in a log file beside its database
 * (stdout stays clean for machine-readable output). Without an installed CLI, the SDK's own download
 * serves as a fallback through @temporalio/testing.
 */
async function startDevServer(
  config: Config,
  local: { host: string; port: number },
): Promise<() => Promise<void>> {
  const { namespace, devServer } = config.temporal;
  // WAL keeps the dev server's single SQLite connection from serialising every write on fsync.
  const pragmas = ['--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL'];
  const executable = serverExecutable('cli');
  if (executable.type !== 'existing-path') {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable,
        ip: local.host,
        port: local.port,
        namespace,
        dbFilename: devServer.dbPath,
        ui: true,
        uiPort: devServer.uiPort,
        extraArgs: pragmas,
      },
    });
    return () => env.teardown();
  }
  const log = openSync(join(dirname(devServer.dbPath), 'temporal-dev.log'), 'a');
  const child = spawn(
    executable.path,
    [
      'server',
      'start-dev',
      '--ip',
      local.host,
      '--port',
      String(local.port),
      '--ui-port',
      String(devServer.uiPort),
      '--db-filename',
      devServer.dbPath,
      '--namespace',
      namespace,
      '--log-level',
      'warn',
      ...pragmas,
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + DEV_SERVER_START_TIMEOUT_MS;
  for (;;) {
    const probe = await tryConnect(clientConnectionOptions(config.temporal));
    if (probe) {
      await probe.close();
      break;
    }
    const code = await Promise.race([exited, sleep(250).then(() => 'running' as const)]);
    if (code !== 'running') {
      const logFile = join(dirname(devServer.dbPath), 'temporal-dev.log');
      throw new Error(
        `the Temporal dev server exited (code ${code}): ${lastLines(logFile, 5)} (log: ${logFile})`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `the Temporal dev server did not answer on ${config.temporal.address} within ${DEV_SERVER_START_TIMEOUT_MS / 1000}s`,
      );
    }
  }
  return async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!stopped) child.kill('SIGKILL');
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function tryConnect(options: ConnectionOptions): Promise<Connection | undefined> {
  try {
    const connection = await Connection.connect({ ...options, connectTimeout: '2 seconds' });
    await connection.workflowService.getSystemInfo({});
    return connection;
  } catch {
    return undefined;
  }
}

function parseLocalAddress(address: string): { host: string; port: number } | undefined {
  const match = /^(localhost|127\.0\.0\.1|\[::1\]|::1):(\d+)$/.exec(address);
  return match
    ? { host: match[1] === 'localhost' ? '127.0.0.1' : match[1]!, port: Number(match[2]) }
    : undefined;
}

/** The end of a log file, on one line, for an error message; empty when it cannot be read. */
function lastLines(file: string, count: number): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-count).join(' | ');
  } catch {
    return '';
  }
}
