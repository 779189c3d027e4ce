import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, inject, test } from 'vitest';
import { PROJECT_ROOT } from '../../src/project-root.js';

const run = promisify(execFile);

test('npm run demo -- --once runs one cycle against the simulated vendors and delivers to the simulated sinks', async () => {
  // Against the test run's Temporal server (TEMPORAL_ADDRESS overrides the demo config's address).
  const { stdout, stderr } = await run(
    process.execPath,
    ['--import', 'tsx', join(PROJECT_ROOT, 'src', 'demo', 'main.ts'), '--once'],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress') },
      timeout: 150_000,
    },
  );
  const stateDir = /\(state in ([^)]+)\)/.exec(stderr)?.[1];
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });

  expect(stderr).toContain('SIMULATED vendors and sinks');
  expect(stdout).toMatch(
    /enrichment \(SIMULATED VirusTotal, Shodan, AbuseIPDB\): (\d+) planned, \1 scored .* 0 failed/,
  );
  const delivered = (sink: string) =>
    Number(new RegExp(`sink ${sink}: (\\d+) delivered, 0 rejected, 0 pending`).exec(stdout)?.[1]);
  expect(delivered('splunk \\(SIMULATED Splunk HEC\\)')).toBeGreaterThan(0);
  expect(delivered('sentinel \\(SIMULATED Microsoft Sentinel\\)')).toBe(
    delivered('splunk \\(SIMULATED Splunk HEC\\)'),
  );

  // What the fakes themselves counted: every vendor was called, and the sinks hold what the report says.
  const count = (pattern: RegExp) => Number(pattern.exec(stdout)?.[1] ?? 0);
  expect(count(/\[SIMULATED vendor\] VirusTotal at \S+: (\d+) lookups/)).toBeGreaterThan(0);
  expect(count(/\[SIMULATED vendor\] Shodan at \S+: (\d+) host lookups/)).toBeGreaterThan(0);
  expect(count(/\[SIMULATED vendor\] AbuseIPDB at \S+: (\d+) checks/)).toBeGreaterThan(0);
  expect(count(/\[SIMULATED sink\] Splunk HEC at \S+: (\d+) indicators indexed/)).toBe(
    delivered('splunk \\(SIMULATED Splunk HEC\\)'),
  );
  expect(count(/\[SIMULATED sink\] Microsoft Sentinel at \S+: (\d+) indicators stored/)).toBe(
    delivered('sentinel \\(SIMULATED Microsoft Sentinel\\)'),
  );

  // Every line of the demo's report about vendor or sink activity says so (JSON lines are logs).
  const activity = (stdout + stderr)
    .split('\n')
    .filter((line) => !line.startsWith('{'))
    .filter((line) => /VirusTotal|Shodan|AbuseIPDB|Splunk|Sentinel|enrichment|^ {2}sink /.test(line));
  expect(activity.length).toBeGreaterThan(6);
  for (const line of activity) expect(line).toMatch(/SIMULATED|local file/);
}, 180_000);
