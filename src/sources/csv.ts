import type { SourceConfigOf } from '../config/index.js';
import { blankToUndefined, pagesOfLines, readDelimited, splitTags, type Row } from './delimited.js';
import { documentSource, openDocument, openFile } from './document.js';
import type { PageBuilder } from './pages.js';
import { parseSeenTime } from './seen-time.js';
import { savedFileSettings, settingsOf, type SourceSettings } from './settings.js';
import type { Source, SourcePage } from './types.js';

type CsvConfig = SourceConfigOf<'csv'>;
export type CsvMapping = Pick<
  CsvConfig,
  'delimiter' | 'header' | 'comment' | 'columns' | 'fixedType' | 'tagSeparator'
>;

/** What `iocflow parse --format csv` assumes: first column is the value, a header row is detected. */
export const DEFAULT_CSV_MAPPING: CsvMapping = {
  delimiter: ',',
  header: 'auto',
  comment: '#',
  columns: { value: 0 },
  tagSeparator: ',',
};

/** A CSV feed from a file or URL with a configured column mapping; the cursor is the last line read. */
export function csvSource(name: string, config: CsvConfig): Source {
  const settings = settingsOf(name, 'CSV feed', config);
  return documentSource(
    name,
    config,
    settings,
    (context) => openDocument(context, settings, config),
    (pageSettings, body, skipThrough, onTruncated) =>
      csvPages(pageSettings, config, body, skipThrough, onTruncated),
  );
}

/** `iocflow parse --format csv PATH`, with the default mapping. */
export async function* readCsvFile(path: string, mapping = DEFAULT_CSV_MAPPING): AsyncGenerator<SourcePage> {
  const settings = savedFileSettings(path, 'CSV feed');
  yield* csvPages(settings, mapping, await openFile(settings, path), 0, () => {});
}

export function csvPages(
  settings: SourceSettings,
  mapping: CsvMapping,
  body: AsyncIterable<Buffer>,
  skipThrough: number,
  onTruncated: () => void,
): AsyncGenerator<SourcePage> {
  const { columns } = mapping;
  const rows = readDelimited(settings, body, {
    delimiter: mapping.delimiter,
    comment: mapping.comment,
    header: mapping.header,
    // Indicators carry dots, colons or digits; a lone word such as `indicator` or `ioc_value` is a title.
    looksLikeHeader: (fields) =>
      typeof columns.value === 'string' || /^[A-Za-z][A-Za-z0-9 _-]*$/.test(fields[0]?.trim() ?? ''),
  });
  return pagesOfLines(
    settings,
    rows,
    skipThrough,
    (row: Extract<Row, { fields: string[] }>, position: string, page: PageBuilder) => {
      const at = (column: string | number | undefined): string | undefined | null => {
        if (column === undefined) return undefined;
        const index = typeof column === 'number' ? column : (row.header?.indexOf(column) ?? -1);
        if (index < 0 || index >= row.fields.length) return null;
        return row.fields[index];
      };
      const value = at(columns.value);
      if (value === null || value === undefined) {
        page.error(position, describeMissing(columns.value, row));
        return;
      }
      const typeName = mapping.fixedType ?? blankToUndefined(at(columns.type) ?? undefined);
      const confidenceText = blankToUndefined(at(columns.confidence) ?? undefined);
      let confidence: number | undefined;
      if (confidenceText !== undefined) {
        confidence = Number(confidenceText);
        if (!Number.isInteger(confidence) || confidence < 0 || confidence > 100) {
          page.error(position, `confidence ${JSON.stringify(confidenceText.slice(0, 20))} is not 0–100`);
          return;
        }
      }
      const seen: { firstSeen?: number; lastSeen?: number } = {};
      for (const key of ['firstSeen', 'lastSeen'] as const) {
        const text = blankToUndefined(at(columns[key]) ?? undefined);
        if (text === undefined) continue;
        const time = parseSeenTime(text);
        if (time === undefined) {
          page.error(
            position,
            `${key === 'firstSeen' ? 'first' : 'last'} seen ${JSON.stringify(text.slice(0, 40))} is not a date ` +
              '(ISO 8601 or YYYY-MM-DD HH:MM:SS UTC)',
          );
          return;
        }
        seen[key] = time;
      }
      const ref = blankToUndefined(at(columns.ref) ?? undefined);
      const tags = splitTags(at(columns.tags) ?? undefined, mapping.tagSeparator);
      page.entry({
        value: value.trim(),
        position,
        ...(typeName ? { typeHint: typeName } : {}),
        ...(ref ? { ref } : {}),
        ...(tags.length > 0 ? { tags } : {}),
        ...(confidence !== undefined ? { confidence } : {}),
        ...seen,
      });
    },
    onTruncated,
  );
}

function describeMissing(column: string | number, row: Extract<Row, { fields: string[] }>): string {
  if (typeof column === 'string' && !row.header) return `no header row names the column ${column}`;
  if (typeof column === 'string' && !row.header?.includes(column))
    return `the header has no column ${column}`;
  return `expected a value in column ${JSON.stringify(column)}, the row has ${row.fields.length} columns`;
}
