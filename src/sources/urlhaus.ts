import type { SourceConfigOf } from '../config/index.js';
import { abusechExportSource, field, readAbusechCsv } from './abusech.js';
import { savedDocument, type DocumentPages } from './document.js';
import { blankToUndefined, pagesOfLines, splitTags } from './delimited.js';
import type { Source } from './types.js';

type UrlhausConfig = SourceConfigOf<'urlhaus'>;

/**
 * URLhaus through its CSV export (`csv_recent`: 30 days, no key needed, honours If-Modified-Since) rather
 * than the API, which returns at most 1,000 URLs of 3 days. Columns:
 * `id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter`.
 */
export function urlhausSource(name: string, config: UrlhausConfig): Source {
  return abusechExportSource(name, config, 'URLhaus', urlhausPages(config.offline));
}

/**
 * An `offline` URL no longer serves malware: by default it is skipped and counted (`skipped.offline` in the
 * report) rather than stored as a fresh threat; `offline: tag` keeps it tagged `urlhaus:offline`.
 */
export function urlhausPages(offline: UrlhausConfig['offline']): DocumentPages {
  return (settings, body, skipThrough, onTruncated) =>
    pagesOfLines(
      settings,
      readAbusechCsv(settings, body),
      skipThrough,
      (row, position, page) => {
        if (row.fields.length < 4) {
          page.error(position, `expected 9 columns, found ${row.fields.length}`);
          return;
        }
        const url = blankToUndefined(field(row, 'url', 2));
        if (!url) {
          page.error(position, 'no url');
          return;
        }
        const status = blankToUndefined(field(row, 'url_status', 3));
        if (status === 'offline' && offline === 'skip') {
          page.skip('offline');
          return;
        }
        const threat = blankToUndefined(field(row, 'threat', 5));
        const tags = [
          ...(threat ? [threat] : []),
          ...splitTags(field(row, 'tags', 6)),
          ...(status === 'offline' ? ['urlhaus:offline'] : []),
        ];
        const id = blankToUndefined(field(row, 'id', 0));
        page.entry({ value: url, typeHint: 'url', position, tags, ...(id ? { ref: `urlhaus:${id}` } : {}) });
      },
      onTruncated,
    );
}

export const readUrlhausFile = savedDocument('URLhaus', urlhausPages('skip'));
