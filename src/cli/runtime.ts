import { loadConfig, resolveConfigPath, type LoadedConfig } from '../config/index.js';
import type { AllowlistMatcher } from '../pipeline/collect.js';
import { openStore, type Store } from '../store/index.js';

export interface Runtime extends LoadedConfig {
  store: Store;
  allowlists: AllowlistMatcher;
  close(): void;
}

/** Loads the config and opens what the worker needs: the store (migrated) and the allowlists. */
export async function openRuntime(configPath?: string): Promise<Runtime> {
  const loaded = loadConfig(resolveConfigPath(configPath));
  const store = openStore(loaded.config.store.path);
  const allowlists: AllowlistMatcher = { match: () => undefined };
  return { ...loaded, store, allowlists, close: () => store.close() };
}
