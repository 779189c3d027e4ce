import type { Got } from 'got';
import type { SinkConfig } from '../config/index.js';
import { fileSink } from './file.js';
import type { Sink } from './types.js';

export type * from './types.js';

/** The one registry of sink types: a new sink is a file in this folder and a line here. */
export interface SinkDeps {
  /** The shared HTTP client (retries off, TLS verified); HTTP sinks extend it, never build their own. */
  http: Got;
}

export function createSink(name: string, config: SinkConfig, _deps: SinkDeps): Sink {
  switch (config.type) {
    case 'file':
      return fileSink(name, config);
  }
}
