import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, test } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { scoreAndRecord } from '../../src/pipeline/score.js';
import { openStore, recordSightings } from '../../src/store/index.js';
import { sighting } from '../support/store.js';
import { iocflow } from './run.js';

describe('the iocflow command line', () => {
  test('normalize prints one JSON line per input: canonical form, allowlist, or the reason it was rejected', async () => {
    const result = await iocflow(['normalize', '-'], {
      input: 'hxxp://evil[.]example[.]net/a\n8.8.8.8\nnot an ioc\n',
    });
    expect(result.code).toBe(0);
    expect(
      result.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([
      {
        input: 'hxxp://evil[.]example[.]net/a',
        type: 'url',
        value: 'http://evil.example.net/a',
        allowlisted: 'builtin-special-domains',
      },
      { input: '8.8.8.8', type: 'ipv4', value: '8.8.8.8', allowlisted: 'builtin-public-dns' },
      { input: 'not an ioc', rejected: 'unknown_type' },
    ]);
  });

  test('a read command on a store path where no store is says so (exit 4) and creates nothing there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iocflow-cli-'));
    writeFileSync(join(dir, 'config.yaml'), 'store:\n  path: stroe/iocflow.db\nsources: {}\nsinks: {}\n');
    for (const command of [['search'], ['cycles'], ['export'], ['show', '1.2.3.4']]) {
      const result = await iocflow([...command, '-c', join(dir, 'config.yaml')]);
      expect(result.code, command[0]).toBe(4);
      expect(result.stderr).toContain(`no store at ${join(dir, 'stroe', 'iocflow.db')} (config: store.path)`);
    }
    expect(existsSync(join(dir, 'stroe'))).toBe(false);
  });

  test('a namespace the server does not have is named with its config key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iocflow-cli-'));
    writeFileSync(
      join(dir, 'config.yaml'),
      'temporal:\n  namespace: no-such-namespace\nsources: {}\nsinks: {}\n',
    );
    const result = await iocflow(['schedule', 'describe', '-c', join(dir, 'config.yaml')], {
      env: { TEMPORAL_ADDRESS: inject('temporalAddress') },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('namespace no-such-namespace does not exist');
    expect(result.stderr).toContain('(config: temporal.namespace)');
  });

  test('a reader that closes the pipe early (`| head`) ends the command with exit 0, not EPIPE', async () => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'iocflow.js'), 'normalize', '-'], {
      env: { ...process.env, IOCFLOW_CONFIG: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null]>;
    // The command stops reading its input once it stops: that pipe breaks too, as intended.
    child.stdin.on('error', () => undefined);
    child.stdin.end(
      Array.from({ length: 200_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`).join('\n'),
    );
    await once(child.stdout, 'data');
    child.stdout.destroy();
    const [code] = await exited;
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });

  test('config check exits 2 and names the key on a broken config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iocflow-cli-'));
    writeFileSync(join(dir, 'config.yaml'), 'sources:\n  x:\n    type: plain\n    paht: a\n');
    const result = await iocflow(['config', 'check', '-c', join(dir, 'config.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("sources.x: unknown key 'paht'");
  });

  test('show --json gives the score with its explanation, sightings, evidence and deliveries; an unknown IOC exits 4', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iocflow-cli-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      'store:\n  path: iocflow.db\nsources:\n  feed:\n    type: plain\n    path: feed.txt\n    reliability: 90\nsinks:\n  out:\n    type: file\n    path: out.jsonl\n',
    );
    const { config } = loadConfig(file, {});
    const store = openStore(config.store.path);
    recordSightings(
      store.db,
      [sighting('ipv4', '91.92.109.43', 'feed', { tags: ['c2'], sourceRef: 'line 3', seenAt: Date.now() })],
      'c1',
    );
    scoreAndRecord(store.db, config, 'ipv4:91.92.109.43', 'c1', Date.now());
    store.close();

    const shown = await iocflow(['show', '91.92.109[.]43', '--json', '-c', file]);
    expect(shown.code).toBe(0);
    const details = JSON.parse(shown.stdout) as Record<string, unknown>;
    expect(details).toMatchObject({
      key: 'ipv4:91.92.109.43',
      status: 'scored',
      score: {
        score: 85,
        severity: 'high',
        explanation: [
          { factor: 'source', points: 77 },
          { factor: 'threat tags', points: 8 },
        ],
      },
      sightings: [{ source: 'feed', ref: 'line 3', tags: ['c2'] }],
      deliveries: [{ sink: 'out', action: 'upsert', scoreVersion: 1, outcome: 'pending' }],
      webUi: 'http://localhost:8233/namespaces/default/workflows/ioc%3Aipv4%3A91.92.109.43',
    });

    const missing = await iocflow(['show', '203.0.113.9', '-c', file]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('ipv4:203.0.113.9 is not in the store');

    // Something that is no indicator is a usage error, for show and reenrich alike (before any connection).
    for (const command of ['show', 'reenrich']) {
      const junk = await iocflow([command, 'not an indicator', '-c', file]);
      expect(junk.code).toBe(2);
      expect(junk.stderr).toContain('not an indicator: "not an indicator" (unknown_type)');
    }
  });
});
