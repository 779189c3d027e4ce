import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { Connection } from '@temporalio/client';
import { serverExecutable } from '../../../src/temporal/binaries.js';
import { testNamespace } from '../../support/namespace.js';

export interface DevServerProcess {
  address: string;
  pid: number;
  /** SIGKILL: no shutdown, no flush beyond what SQLite has committed. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** A free loopback port, so a restarted server can take the same one again. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * `temporal server start-dev` with its state in `dbFile` (the shared test server is in memory and cannot
 * come back from a kill), headless, answering on `port`. Resolves once the frontend answers.
 */
export async function startFileDevServer(
  dbFile: string,
  port: number,
  logFile: string,
): Promise<DevServerProcess> {
  const executable = serverExecutable('cli');
  if (executable.type !== 'existing-path')
    throw new Error('the Temporal CLI is not installed: run npm run setup');
  const log = openSync(logFile, 'a');
  const child = spawn(
    executable.path,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--headless',
      '--db-filename',
      dbFile,
      '--namespace',
      'default',
      '--namespace',
      testNamespace(),
      '--log-level',
      'warn',
      // What `iocflow dev` runs with (src/temporal/server.ts): WAL, and commits that survive a killed process.
      '--sqlite-pragma',
      'journal_mode=WAL',
      '--sqlite-pragma',
      'synchronous=NORMAL',
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (gone) throw new Error(`the dev server exited while starting; see ${logFile}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1 second' });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the dev server did not answer on ${address} within 60 s; see ${logFile}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    address,
    pid: child.pid!,
    async kill() {
      if (gone) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (gone) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
  };
}
