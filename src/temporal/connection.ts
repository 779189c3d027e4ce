import type { ConnectionOptions } from '@temporalio/client';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/index.js';

// The one place that turns `temporal:` in config.yaml into connection options, for the client (CLI,
// schedule, dev server probe) and the worker's native connection alike, so both reach a real cluster
// (private CA, mTLS, Temporal Cloud API key) the same way.

type TemporalSettings = Pick<Config['temporal'], 'address' | 'namespace' | 'tls' | 'apiKey'>;

/** What both connection kinds share: address, TLS (always verified) and the API key. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
}

/** The TLS files and key as connection options; files are read now, so a missing one fails here. */
export function temporalConnectionOptions(settings: TemporalSettings): TemporalConnectionOptions {
  const options: TemporalConnectionOptions = { address: settings.address };
  const { tls, apiKey } = settings;
  // An API key travels as a bearer token: never in clear text, so it switches TLS on by itself.
  if (tls === true || (tls === undefined && apiKey !== undefined)) options.tls = {};
  if (typeof tls === 'object') {
    options.tls = {
      ...(tls.serverName !== undefined ? { serverNameOverride: tls.serverName } : {}),
      ...(tls.caFile !== undefined
        ? { serverRootCACertificate: readPem(tls.caFile, 'temporal.tls.caFile') }
        : {}),
      ...(tls.certFile !== undefined && tls.keyFile !== undefined
        ? {
            clientCertPair: {
              crt: readPem(tls.certFile, 'temporal.tls.certFile'),
              key: readPem(tls.keyFile, 'temporal.tls.keyFile'),
            },
          }
        : {}),
    };
  }
  if (apiKey !== undefined) options.apiKey = apiKey;
  return options;
}

/** Options for `Connection.connect` (client side: CLI, schedules, probes). */
export function clientConnectionOptions(
  settings: TemporalSettings,
  extra: Pick<ConnectionOptions, 'connectTimeout'> = {},
): ConnectionOptions {
  return { ...temporalConnectionOptions(settings), ...extra };
}

/** Options for `NativeConnection.connect` (the worker). */
export function nativeConnectionOptions(settings: TemporalSettings): NativeConnectionOptions {
  return temporalConnectionOptions(settings);
}

/** Where this connects, for messages: never the key. */
export function describeConnection(settings: TemporalSettings): string {
  const tls = settings.tls === true || typeof settings.tls === 'object' || settings.apiKey !== undefined;
  const how = [tls ? 'TLS' : 'plaintext'];
  if (typeof settings.tls === 'object' && settings.tls.certFile) how.push('client certificate');
  if (settings.apiKey !== undefined) how.push('API key');
  return `${settings.address} (namespace ${settings.namespace}, ${how.join(', ')})`;
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new TemporalConnectionConfigError(`cannot read ${path} (config: ${key}): ${code}`);
  }
}

/** A connection setting that cannot be used as written; the message names the config key. */
export class TemporalConnectionConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalConnectionConfigError';
  }
}
