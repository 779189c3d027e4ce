import { dirname } from 'node:path';
import { ConfigError, loadConfig, resolveConfigPath, type LoadedConfig } from '../config/index.js';
import { createHttpClient, fetchText } from '../http/client.js';
import { loadAllowlists, type Allowlists } from '../ioc/index.js';
import { openStore, type Store } from '../store/index.js';

export interface RuntimeOptions {
  /** Allowlists to switch off on top of the config's `allowlists.off`. */
  allowlistOff?: string[];
}

export interface Runtime extends LoadedConfig {
  store: Store;
  allowlists: Allowlists;
  close(): void;
}

/** Loads the config and opens what the worker needs: the store (migrated) and the allowlists. */
export async function openRuntime(configPath?: string, options: RuntimeOptions = {}): Promise<Runtime> {
  const loaded = loadConfig(resolveConfigPath(configPath));
  const allowlists = await loadConfiguredAllowlists(loaded, options.allowlistOff);
  const store = openStore(loaded.config.store.path);
  return { ...loaded, store, allowlists, close: () => store.close() };
}

/**
 * The allowlists of a loaded config; list files are relative to the config file. A list that cannot be
 * loaded is a configuration error: delivering without it could push a benign indicator.
 */
export async function loadConfiguredAllowlists(
  loaded: LoadedConfig,
  off: string[] = [],
): Promise<Allowlists> {
  const http = createHttpClient();
  try {
    return await loadAllowlists(loaded.config.allowlists, {
      baseDir: dirname(loaded.file),
      off,
      fetchText: (url) => fetchText(http, url),
    });
  } catch (err) {
    throw new ConfigError(loaded.file, [err instanceof Error ? err.message : String(err)]);
  }
}
