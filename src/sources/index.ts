import type { SourceConfig } from '../config/index.js';
import { csvSource, readCsvFile } from './csv.js';
import { feodoSource, readFeodoFile } from './feodo.js';
import { malwarebazaarSource, readMalwarebazaarFile } from './malwarebazaar.js';
import { mispFeedSource, readMispFeedDirectory } from './misp-feed.js';
import { mispSource, readMispFile } from './misp.js';
import { otxSource, readOtxFile } from './otx.js';
import { plainSource, readPlainFile } from './plain.js';
import { readSslblFile, sslblSource } from './sslbl.js';
import { readStixFile, stixSource } from './stix.js';
import { taxiiSource } from './taxii.js';
import { readThreatfoxFile, threatfoxSource } from './threatfox.js';
import type { Source, SourcePage, SourcePull } from './types.js';
import { readUrlhausFile, urlhausSource } from './urlhaus.js';

export type * from './types.js';

/** The one registry of source types: a new source is a file in this folder and a line here. */
export function createSource(name: string, config: SourceConfig): Source {
  return withSharedBehaviour(sourceOf(name, config));
}

function sourceOf(name: string, config: SourceConfig): Source {
  switch (config.type) {
    case 'plain':
      return plainSource(name, config);
    case 'csv':
      return csvSource(name, config);
    case 'misp':
      return mispSource(name, config);
    case 'misp-feed':
      return mispFeedSource(name, config);
    case 'otx':
      return otxSource(name, config);
    case 'urlhaus':
      return urlhausSource(name, config);
    case 'threatfox':
      return threatfoxSource(name, config);
    case 'feodo':
      return feodoSource(name, config);
    case 'malwarebazaar':
      return malwarebazaarSource(name, config);
    case 'sslbl':
      return sslblSource(name, config);
    case 'stix':
      return stixSource(name, config);
    case 'taxii':
      return taxiiSource(name, config);
  }
}

/**
 * What every source does the same way, kept here rather than in each file: entries without a TLP of their
 * own get the source's `tlp` setting as a `tlp:<level>` tag.
 */
function withSharedBehaviour(source: Source): Source {
  const tlp = source.config.tlp;
  if (!tlp) return source;
  return {
    ...source,
    pull(context): SourcePull {
      const pull = source.pull(context);
      return {
        pages: (async function* () {
          for await (const page of pull.pages) {
            for (const entry of page.entries) {
              if (!entry.tags?.some((t) => t.toLowerCase().startsWith('tlp:'))) {
                entry.tags = [...(entry.tags ?? []), `tlp:${tlp}`];
              }
            }
            yield page;
          }
        })(),
        memory: () => pull.memory(),
      };
    },
  };
}

/**
 * Saved source output that `iocflow parse --format NAME PATH` reads: what a source would extract from a
 * response saved to a file, through the same parser as the live source. `misp-feed` takes the feed's
 * directory; `csv` uses the default mapping (first column is the value, header row detected).
 */
export const SAVED_FORMATS = {
  misp: readMispFile,
  'misp-feed': readMispFeedDirectory,
  otx: readOtxFile,
  urlhaus: readUrlhausFile,
  threatfox: readThreatfoxFile,
  feodo: readFeodoFile,
  malwarebazaar: readMalwarebazaarFile,
  sslbl: readSslblFile,
  stix: readStixFile,
  plain: readPlainFile,
  csv: (path: string): AsyncIterable<SourcePage> => readCsvFile(path),
} as const satisfies Record<string, (path: string) => AsyncIterable<SourcePage>>;

export type SavedFormat = keyof typeof SAVED_FORMATS;
