import { looksLikeHtml, readLines, splitDelimited, type Line } from './lines.js';
import { PageBuilder } from './pages.js';
import type { SourceSettings } from './settings.js';
import type { SourcePage } from './types.js';

export interface DelimitedOptions {
  delimiter: string;
  /** Lines starting with this are comments. */
  comment: string;
  /**
   * Where the column names are: `comment` — the last comment line before the data (abuse.ch exports);
   * `true` — the first row; `false` — nowhere; `auto` — a last comment line that splits into the expected
   * columns, else a first row that `looksLikeHeader`.
   */
  header: boolean | 'auto' | 'comment';
  looksLikeHeader?: (fields: string[]) => boolean;
}

export type Row =
  | { no: number; fields: string[]; header: string[] | undefined }
  | { no: number; problem: string; truncated?: true };

/** Rows of a delimited feed, with the header that names their columns. */
export async function* readDelimited(
  settings: SourceSettings,
  body: AsyncIterable<Buffer | string>,
  options: DelimitedOptions,
): AsyncGenerator<Row> {
  let header: string[] | undefined;
  let lastComment: string | undefined;
  let firstContent = true;
  let headerDecided = options.header === false;
  for await (const line of readLines(body)) {
    if ('problem' in line) {
      yield line;
      continue;
    }
    const text = line.text;
    if (text.trim() === '') continue;
    if (firstContent) {
      firstContent = false;
      if (looksLikeHtml(text))
        throw new Error(`source ${settings.name}: the response is an HTML page, not a feed`);
    }
    if (text.startsWith(options.comment)) {
      if (!headerDecided) lastComment = text.slice(options.comment.length).trim();
      continue;
    }
    const fields = splitDelimited(text, options.delimiter);
    if (!fields) {
      yield { no: line.no, problem: 'broken quoting' };
      continue;
    }
    if (!headerDecided) {
      headerDecided = true;
      const fromComment = lastComment ? splitDelimited(lastComment, options.delimiter) : undefined;
      if (
        options.header === 'comment' ||
        (options.header === 'auto' && fromComment && fromComment.length > 1)
      ) {
        header = fromComment?.map((h) => h.trim());
      } else if (
        options.header === true ||
        (options.header === 'auto' && options.looksLikeHeader?.(fields))
      ) {
        header = fields.map((h) => h.trim());
        continue;
      }
    }
    yield { no: line.no, fields, header };
  }
}

/**
 * Pages of a line-oriented feed. The cursor is the number of the last line read, so a resumed pull reads
 * the body again (a header may sit at its top) but hands on nothing up to that line.
 */
export async function* pagesOfLines<T extends { no: number }>(
  settings: SourceSettings,
  items: AsyncIterable<T | Extract<Line, { problem: string }>>,
  skipThrough: number,
  handle: (item: T, position: string, page: PageBuilder) => void,
  onTruncated: () => void,
  /** What `no` counts, for positions: `line 12`, `item 7`. */
  unit: 'line' | 'item' | 'object' = 'line',
): AsyncGenerator<SourcePage> {
  const page = new PageBuilder(settings.pageSize);
  let last = skipThrough;
  for await (const item of items) {
    if (item.no <= skipThrough) continue;
    last = item.no;
    const position = `${settings.name} ${unit} ${item.no}`;
    if ('problem' in item) {
      if (item.truncated) onTruncated();
      page.error(position, item.problem);
    } else {
      handle(item, position, page);
    }
    if (page.full()) yield page.take(String(last));
  }
  if (!page.isEmpty() || last === skipThrough) yield page.take(String(last));
}

/** The line number a line-feed cursor carries; 0 (the start) for none or junk. */
export function lineCursor(cursor: string | undefined): number {
  const n = Number(cursor ?? 0);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** A field that abuse.ch and others write for "nothing". */
export function blankToUndefined(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  return v === '' || v === 'None' || v === 'n/a' || v === 'null' ? undefined : v;
}

/** Comma-separated tags (`32-bit,elf,mips`) as a list without blanks. */
export function splitTags(value: string | undefined, separator = ','): string[] {
  const v = blankToUndefined(value);
  if (!v) return [];
  return v
    .split(separator)
    .map((t) => t.trim())
    .filter((t) => t !== '');
}
