export * from './types.js';
export { normaliseEntry, MAX_ENTRY_LENGTH, MIN_CIDR_PREFIX } from './normalise.js';
export { resolveTypeHint, knownTypeHints, type HintTarget } from './type-hints.js';
export { refangHost, refangScheme, unwrap } from './refang.js';
export {
  allowlistsConfigSchema,
  loadAllowlists,
  type Allowlists,
  type AllowlistsConfig,
  type AllowlistListConfig,
  type AllowlistSummary,
  type LoadAllowlistsOptions,
} from './allowlist.js';
export { BUILTIN_ALLOWLISTS, type BuiltinAllowlist } from './allowlist-builtin.js';
