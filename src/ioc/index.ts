export * from './types.js';
export { normaliseEntry } from './normalise.js';
