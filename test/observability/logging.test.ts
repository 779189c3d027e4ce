import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { createLogger, resolveLogLevel, secretScrubber } from '../../src/observability/logging.js';

const KEY = 'vt-0123456789abcdef-zebra';

/** A JSON logger writing into an array, as the worker's would write to stderr. */
function capture(secrets: string[] = []) {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const logger = createLogger({
    level: 'trace',
    secrets,
    destination: {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  return { logger, lines, raw };
}

describe('JSON logs without secrets', () => {
  test('lines are JSON with an ISO time, a level name and the service', () => {
    const { logger, lines } = capture();
    logger.info({ source: 'feed' }, 'source collected');
    expect(lines[0]).toMatchObject({
      level: 'info',
      service: 'iocflow',
      source: 'feed',
      msg: 'source collected',
    });
    expect(String(lines[0]!.time)).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  test('credential keys, headers and config objects are censored by name, task tokens dropped', () => {
    const { logger, raw, lines } = capture();
    const { config } = parseConfig(
      'enrichers:\n  virustotal:\n    apiKey: ${VT}\n',
      '/etc/iocflow/config.yaml',
      { VT: KEY },
    );
    logger.info(
      { config, apiKey: KEY, taskToken: 'dG9rZW4=', request: { headers: { 'x-apikey': KEY } } },
      'x',
    );
    logger.warn({ error: { options: { headers: { authorization: `Bearer ${KEY}` } } } }, 'y');
    expect(raw.join('')).not.toContain(KEY);
    expect(lines[0]).toMatchObject({
      config: '[REDACTED]',
      apiKey: '[REDACTED]',
      request: { headers: '[REDACTED]' },
    });
    expect(lines[0]).not.toHaveProperty('taskToken');
  });

  test('a configured secret is blanked wherever it appears, also JSON-escaped or URL-encoded', () => {
    const odd = 'p@ss"w0rd/with\\odd+chars';
    const { logger, raw } = capture([KEY, odd, 'short']);
    logger.error({ error: new Error(`VirusTotal rejected ${KEY}`) }, `call with ${odd}`);
    logger.info(`https://x.example/?q=${encodeURIComponent(odd)}`);
    logger.info('a short value stays: short');
    const text = raw.join('');
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(JSON.stringify(odd).slice(1, -1));
    expect(text).not.toContain(encodeURIComponent(odd));
    expect(text).toContain('[REDACTED]');
    expect(text).toContain('a short value stays: short');
  });

  test('keys in URL queries, URL passwords and Authorization values are blanked without knowing them', () => {
    const scrub = secretScrubber([]);
    expect(scrub('GET https://api.shodan.io/shodan/host/1.2.3.4?key=abc123xyz&minify=true')).toBe(
      'GET https://api.shodan.io/shodan/host/1.2.3.4?key=[REDACTED]&minify=true',
    );
    expect(scrub('https://user:hunter22@misp.example/x')).toBe('https://[REDACTED]@misp.example/x');
    expect(scrub('authorization: Splunk 1234-5678-abcd-ef00')).toBe('authorization: Splunk [REDACTED]');
    expect(scrub('ok: nothing secret here')).toBe('ok: nothing secret here');
  });

  test('IOCFLOW_LOG_LEVEL overrides logging.level; an unknown name is ignored', () => {
    expect(resolveLogLevel({ level: 'info' }, {})).toBe('info');
    expect(resolveLogLevel({ level: 'info' }, { IOCFLOW_LOG_LEVEL: 'DEBUG' })).toBe('debug');
    expect(resolveLogLevel({ level: 'warn' }, { IOCFLOW_LOG_LEVEL: 'loud' })).toBe('warn');
  });
});
