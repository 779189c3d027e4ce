import type { SinkConfig } from '../config/index.js';
import { fileSink } from './file.js';
import type { Sink } from './types.js';

export type * from './types.js';

/** The one registry of sink types: a new sink is a file in this folder and a line here. */
export function createSink(name: string, config: SinkConfig): Sink {
  switch (config.type) {
    case 'file':
      return fileSink(name, config);
  }
}
