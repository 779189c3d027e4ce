import type { SourceConfigOf } from '../config/index.js';
import { readDelimited, type Row } from './delimited.js';
import { documentSource, openDocument, type DocumentPages } from './document.js';
import { settingsOf, type SourceSettings } from './settings.js';
import type { Source } from './types.js';

// What the abuse.ch feeds share: the Auth-Key header and the bulk-export pull (one document, conditional
// GET, resume by line or item). Each feed's own parsing lives in its file: urlhaus.ts, threatfox.ts,
// feodo.ts, malwarebazaar.ts, sslbl.ts.

export type AbusechExportType = 'urlhaus' | 'feodo' | 'malwarebazaar' | 'sslbl';

/** abuse.ch's header for its key; harmless on the exports, required by the APIs since 2025-06-30. */
export function authKeyHeaders(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { 'auth-key': apiKey } : {};
}

/** A bulk-export source: conditional GET of the whole file, parsed as it streams. */
export function abusechExportSource(
  name: string,
  config: SourceConfigOf<AbusechExportType>,
  service: string,
  pagesOf: DocumentPages,
): Source {
  const settings = settingsOf(name, service, config, 'apiKey');
  return documentSource(
    name,
    config,
    settings,
    (context) => openDocument(context, settings, { url: config.url }, authKeyHeaders(config.apiKey)),
    pagesOf,
  );
}

/** abuse.ch CSV exports: `#` banner, the last comment line is the header. */
export function readAbusechCsv(settings: SourceSettings, body: AsyncIterable<Buffer>): AsyncGenerator<Row> {
  return readDelimited(settings, body, { delimiter: ',', comment: '#', header: 'comment' });
}

/** A field by header name, or by position when the file has no (or an older) header. */
export function field(
  row: Extract<Row, { fields: string[] }>,
  name: string,
  position: number,
): string | undefined {
  const index = row.header?.indexOf(name) ?? -1;
  return row.fields[index >= 0 ? index : position];
}
