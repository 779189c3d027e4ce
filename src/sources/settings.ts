import { readFileSync } from 'node:fs';
import type { SourceConfig } from '../config/index.js';
import type { CallSite } from '../http/failures.js';

/** What every source needs besides its own settings: who it is, for messages, and how to call out. */
export interface SourceSettings {
  /** The source's name in the config (or the saved file's path for `iocflow parse`). */
  readonly name: string;
  /** Service and credential key for HTTP failure messages; never the credential itself. */
  readonly site: CallSite;
  readonly timeoutMs: number;
  readonly pageSize: number;
  /** Extra CA certificates (PEM), read once from `caFile`. */
  readonly ca?: Buffer | undefined;
}

/**
 * Longest line or JSON record a source accepts. A feed line is a few hundred bytes; anything this long is a
 * broken or hostile response, and reading it would hold it whole in memory.
 */
export const MAX_RECORD_BYTES = 1 << 20;

/** Settings of a configured source. `credentialField` names the config key that holds its credential. */
export function settingsOf(
  name: string,
  service: string,
  config: SourceConfig,
  credentialField?: string,
): SourceSettings {
  return {
    name,
    site: {
      service: `${service} (source ${name})`,
      credentialKey: credentialField ? `sources.${name}.${credentialField}` : undefined,
      caFileKey: `sources.${name}.caFile`,
    },
    timeoutMs: config.timeoutMs,
    pageSize: config.pageSize,
    ca: config.caFile ? readCaFile(name, config.caFile) : undefined,
  };
}

/** Settings for reading a saved response (`iocflow parse`): the file's path names the positions. */
export function savedFileSettings(path: string, service: string): SourceSettings {
  return { name: path, site: { service }, timeoutMs: 30_000, pageSize: 1000 };
}

function readCaFile(name: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(
      `source ${name}: cannot read caFile ${path} (config: sources.${name}.caFile): ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}
