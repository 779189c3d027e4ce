import type { SourceConfig } from '../config/index.js';
import { plainFileSource } from './plain.js';
import type { Source } from './types.js';

export type * from './types.js';

/** The one registry of source types: a new source is a file in this folder and a line here. */
export function createSource(name: string, config: SourceConfig): Source {
  switch (config.type) {
    case 'plain':
      return plainFileSource(name, config);
  }
}
