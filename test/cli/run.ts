import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/project-root.js';

const run = promisify(execFile);
const BIN = join(PROJECT_ROOT, 'bin', 'iocflow.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real command line; resolves with its exit code instead of throwing on a non-zero one. */
export async function iocflow(
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const child = run(process.execPath, [BIN, ...args], {
    env: { ...process.env, IOCFLOW_CONFIG: '', ...options.env },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (options.input !== undefined) child.child.stdin?.end(options.input);
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
