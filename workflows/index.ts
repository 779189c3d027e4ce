// What the worker bundles: every workflow type, and nothing with I/O.
export { IngestCycle } from './ingest-cycle.js';
export { EnrichIoc } from './enrich-ioc.js';
