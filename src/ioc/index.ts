export * from './types.js';
export { normaliseEntry, MAX_ENTRY_LENGTH, MIN_CIDR_PREFIX } from './normalise.js';
export { resolveTypeHint, knownTypeHints, type HintTarget } from './type-hints.js';
export { refangHost, refangScheme, unwrap } from './refang.js';
