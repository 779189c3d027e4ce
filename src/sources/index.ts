import type { SourceConfig } from '../config/index.js';
import { plainFileSource, readPlainFile } from './plain.js';
import type { Source, SourcePage } from './types.js';

export type * from './types.js';

/** The one registry of source types: a new source is a file in this folder and a line here. */
export function createSource(name: string, config: SourceConfig): Source {
  switch (config.type) {
    case 'plain':
      return plainFileSource(name, config);
  }
}

/**
 * Saved source output that `iocflow parse --format NAME PATH` reads: what a source would extract from a
 * response saved to a file.
 */
export const SAVED_FORMATS = {
  plain: (path: string): AsyncIterable<SourcePage> => readPlainFile(path),
} as const;

export type SavedFormat = keyof typeof SAVED_FORMATS;
