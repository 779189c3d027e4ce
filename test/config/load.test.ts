import { describe, expect, test } from 'vitest';
import { ConfigError, EXAMPLE_CONFIG_PATH, loadConfig, parseConfig } from '../../src/config/index.js';

const parse = (yaml: string, env: NodeJS.ProcessEnv = {}) =>
  parseConfig(yaml, '/etc/iocflow/config.yaml', env);

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config loading', () => {
  test('an empty file gives every documented default', () => {
    const { config } = parse('');
    expect(config.temporal).toMatchObject({
      address: 'localhost:7233',
      namespace: 'default',
      taskQueue: 'iocflow',
    });
    expect(config.schedule).toEqual({
      id: 'iocflow-cycle',
      every: '4h',
      overlap: 'skip',
      catchupWindow: '1h',
    });
    expect(config.scoring.threshold).toBe(70);
    expect(config.store.path).toBe('/etc/iocflow/data/iocflow.db');
  });

  test('paths are relative to the config file', () => {
    const { config } = parse('sources:\n  a:\n    type: plain\n    path: feeds/a.txt\n');
    expect(config.sources.a).toMatchObject({
      path: '/etc/iocflow/feeds/a.txt',
      reliability: 50,
      enabled: true,
    });
  });

  test('${VAR} and ${VAR:-default} are interpolated and remembered as secrets', () => {
    const { config, secrets } = parse('temporal:\n  namespace: ${NS}\n  taskQueue: ${QUEUE:-iocq}\n', {
      NS: 'soc-prod',
    });
    expect(config.temporal.namespace).toBe('soc-prod');
    expect(config.temporal.taskQueue).toBe('iocq');
    expect(secrets).toEqual(['soc-prod']);
  });

  test('a missing environment variable names the key that needs it', () => {
    expect(problemsOf(() => parse('temporal:\n  namespace: ${MISSING_NS}\n'))).toEqual([
      'temporal.namespace: environment variable MISSING_NS is not set',
    ]);
  });

  test('TEMPORAL_ADDRESS overrides the configured address', () => {
    expect(
      parse('temporal:\n  address: temporal:7233\n', { TEMPORAL_ADDRESS: 'localhost:9999' }).config.temporal
        .address,
    ).toBe('localhost:9999');
  });

  test('every problem is reported with its exact key', () => {
    const problems = problemsOf(() =>
      parse(
        [
          'schedule:',
          '  every: four hours',
          'sources:',
          '  feed-a:',
          '    type: plain',
          '    paht: a.txt',
          '    reliability: 150',
          '  Bad Name:',
          '    type: plain',
          '    path: b.txt',
          'sinks:',
          '  out:',
          '    type: carrier-pigeon',
        ].join('\n'),
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^schedule\.every: .*duration/),
        expect.stringMatching(/^sources\.feed-a\.path: /),
        "sources.feed-a: unknown key 'paht'",
        expect.stringMatching(/^sources\.feed-a\.reliability: .*100/),
        expect.stringMatching(/^sources\.Bad Name: .*lowercase/),
        expect.stringMatching(/^sinks\.out\.type: /),
      ]),
    );
  });

  test('invalid YAML says where', () => {
    expect(problemsOf(() => parse('sources:\n  a: [\n'))[0]).toMatch(/^not valid YAML \(line \d+\)/);
  });

  test('the bundled example is valid', () => {
    const { config } = loadConfig(EXAMPLE_CONFIG_PATH, {});
    expect(Object.keys(config.sources)).toEqual(['c2-blocklist', 'community-watchlist']);
    expect(Object.keys(config.sinks)).toEqual(['high-confidence']);
  });
});
