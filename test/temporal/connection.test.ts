import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import {
  clientConnectionOptions,
  describeConnection,
  nativeConnectionOptions,
} from '../../src/temporal/connection.js';

const CA = '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n';

/** A config file in a temp folder with PEM files beside it, loaded by the real loader. */
function temporalSettings(yaml: string, env: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'iocflow-conn-'));
  writeFileSync(join(dir, 'ca.pem'), CA);
  writeFileSync(join(dir, 'client.pem'), CERT);
  writeFileSync(join(dir, 'client.key'), KEY);
  return parseConfig(yaml, join(dir, 'config.yaml'), env).config.temporal;
}

describe('Temporal connection options from config', () => {
  test('no TLS and no key by default: a plain connection to the address', () => {
    const settings = temporalSettings('temporal:\n  address: temporal:7233\n');
    expect(clientConnectionOptions(settings)).toEqual({ address: 'temporal:7233' });
    expect(nativeConnectionOptions(settings)).toEqual({ address: 'temporal:7233' });
  });

  test('tls: true verifies against the system CAs', () => {
    const settings = temporalSettings('temporal:\n  address: t.example.org:7233\n  tls: true\n');
    expect(nativeConnectionOptions(settings)).toEqual({ address: 't.example.org:7233', tls: {} });
  });

  test('mTLS files are read, relative to the config file, and the server name overrides SNI', () => {
    const settings = temporalSettings(
      'temporal:\n  address: t.example.org:7233\n  tls:\n    caFile: ca.pem\n    certFile: client.pem\n' +
        '    keyFile: client.key\n    serverName: frontend.internal\n',
    );
    const options = nativeConnectionOptions(settings);
    expect(options.tls).toEqual({
      serverNameOverride: 'frontend.internal',
      serverRootCACertificate: Buffer.from(CA),
      clientCertPair: { crt: Buffer.from(CERT), key: Buffer.from(KEY) },
    });
    expect(clientConnectionOptions(settings, { connectTimeout: '2s' })).toMatchObject({
      tls: options.tls,
      connectTimeout: '2s',
    });
  });

  test('an API key implies TLS and is passed to both connections', () => {
    const settings = temporalSettings(
      'temporal:\n  address: ns.acct.tmprl.cloud:7233\n  namespace: ns.acct\n  apiKey: ${TEMPORAL_API_KEY}\n',
      { TEMPORAL_API_KEY: 'tc-key-123' },
    );
    expect(clientConnectionOptions(settings)).toEqual({
      address: 'ns.acct.tmprl.cloud:7233',
      tls: {},
      apiKey: 'tc-key-123',
    });
    expect(nativeConnectionOptions(settings)).toMatchObject({ tls: {}, apiKey: 'tc-key-123' });
    expect(describeConnection(settings)).toBe('ns.acct.tmprl.cloud:7233 (namespace ns.acct, TLS, API key)');
    expect(describeConnection(settings)).not.toContain('tc-key-123');
  });

  test('an API key with a CA file keeps the CA', () => {
    const settings = temporalSettings('temporal:\n  apiKey: ${K}\n  tls:\n    caFile: ca.pem\n', { K: 'k' });
    expect(nativeConnectionOptions(settings)).toMatchObject({
      apiKey: 'k',
      tls: { serverRootCACertificate: Buffer.from(CA) },
    });
  });

  test('a missing file fails at connect time naming the config key', () => {
    const settings = temporalSettings(
      'temporal:\n  tls:\n    caFile: ca.pem\n    certFile: missing.pem\n    keyFile: client.key\n',
    );
    expect(() => nativeConnectionOptions(settings)).toThrow(
      /cannot read .*missing\.pem \(config: temporal\.tls\.certFile\): ENOENT/,
    );
  });

  test('the config rejects an API key without TLS, and a certificate without its key', () => {
    expect(() => temporalSettings('temporal:\n  apiKey: ${K}\n  tls: false\n', { K: 'k' })).toThrow(
      /temporal\.tls: an API key is only sent over TLS/,
    );
    expect(() => temporalSettings('temporal:\n  tls:\n    certFile: client.pem\n')).toThrow(
      /temporal\.tls\.keyFile: certFile and keyFile go together/,
    );
  });
});
