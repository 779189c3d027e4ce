import { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEARCH_ATTRIBUTES } from '../../src/shared/messages.js';
import { serverExecutable } from '../../src/temporal/binaries.js';

/** Where the dev server keeps its state: in memory, or in a SQLite file with or without the fast pragmas. */
export const SERVER_KINDS = ['memory', 'file', 'file-wal'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

const PRAGMAS = ['--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF'];

/** A fresh dev server of the pinned CLI with iocflow's search attributes; `cleanup` removes its files. */
export async function devServer(kind: ServerKind): Promise<TestWorkflowEnvironment & { cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'iocflow-bench-'));
  const file = ['--db-filename', join(dir, 'temporal.db')];
  const extraArgs = kind === 'memory' ? PRAGMAS : kind === 'file' ? file : [...file, ...PRAGMAS];
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: serverExecutable('cli'),
      searchAttributes: Object.values(SEARCH_ATTRIBUTES),
      extraArgs: [...extraArgs, '--log-level', 'error'],
    },
  });
  return Object.assign(env, { cleanup: () => rmSync(dir, { recursive: true, force: true }) });
}
