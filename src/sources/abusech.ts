import type { SourceConfigOf } from '../config/index.js';
import { lineCursor, readDelimited, type Row } from './delimited.js';
import { documentMemory, openDocument, openFile, type OpenedDocument } from './document.js';
import { savedFileSettings, settingsOf, type SourceSettings } from './settings.js';
import type { Source, SourceContext, SourcePage, SourcePull } from './types.js';

// What the abuse.ch feeds share: the Auth-Key header and the bulk-export pull (one document, conditional
// GET, resume by line or item). Each feed's own parsing lives in its file: urlhaus.ts, threatfox.ts,
// feodo.ts, malwarebazaar.ts, sslbl.ts.

export type AbusechExportType = 'urlhaus' | 'feodo' | 'malwarebazaar' | 'sslbl';

/** Parses one export body into pages, skipping what a previous attempt stored. */
export type ExportPages = (
  settings: SourceSettings,
  body: AsyncIterable<Buffer>,
  skipThrough: number,
  onTruncated: () => void,
) => AsyncGenerator<SourcePage>;

/** abuse.ch's header for its key; harmless on the exports, required by the APIs since 2025-06-30. */
export function authKeyHeaders(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { 'auth-key': apiKey } : {};
}

/** A bulk-export source: conditional GET of the whole file, parsed as it streams. */
export function abusechExportSource(
  name: string,
  config: SourceConfigOf<AbusechExportType>,
  service: string,
  pagesOf: ExportPages,
  /** Some parsers need the config (URLhaus `offline`); the rest ignore it. */
): Source {
  const settings = settingsOf(name, service, config, 'apiKey');
  return {
    name,
    config,
    pull(context: SourceContext): SourcePull {
      let opened: OpenedDocument | undefined;
      let truncated = false;
      return {
        pages: (async function* () {
          opened = await openDocument(context, settings, { url: config.url }, authKeyHeaders(config.apiKey));
          if (opened.status === 'unchanged') return;
          yield* pagesOf(settings, opened.body, lineCursor(context.resumeFrom), () => (truncated = true));
        })(),
        memory: () => documentMemory(context.memory, opened, truncated),
      };
    },
  };
}

/** A saved export, read by `iocflow parse` through the same parser as the live source. */
export function savedExport(service: string, pagesOf: ExportPages) {
  return async function* (path: string): AsyncGenerator<SourcePage> {
    const settings = savedFileSettings(path, service);
    yield* pagesOf(settings, await openFile(settings, path), 0, () => {});
  };
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
