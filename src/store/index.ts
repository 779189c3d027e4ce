export * from './open.js';
export * from './sightings.js';
export * from './work.js';
export * from './scores.js';
export * from './outbox.js';
export * from './cycles.js';
export * as tables from './schema.js';
export * from './source-state.js';
export * from './enrichments.js';
