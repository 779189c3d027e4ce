import type { SourceConfigOf } from '../config/index.js';
import { pagesOfLines } from './delimited.js';
import { documentSource, openDocument, savedDocument, type Location } from './document.js';
import { looksLikeHtml, readLines, type Line } from './lines.js';
import { settingsOf, type SourceSettings } from './settings.js';
import type { Source, SourcePage } from './types.js';

type PlainConfig = SourceConfigOf<'plain'>;

/**
 * A text feed with one indicator per line, from a file or a URL; `#` starts a comment (at line start or
 * after a space), blank lines are skipped. The cursor is the last line read.
 */
export function plainSource(name: string, config: PlainConfig): Source {
  const settings = settingsOf(name, 'plain feed', config);
  return documentSource(
    name,
    config,
    settings,
    (context) => openDocument(context, settings, config satisfies Location),
    plainPages,
  );
}

/** `iocflow parse --format plain PATH`. */
export const readPlainFile = savedDocument('plain feed', plainPages);

function plainPages(
  settings: SourceSettings,
  body: AsyncIterable<Buffer>,
  skipThrough: number,
  onTruncated: () => void,
): AsyncGenerator<SourcePage> {
  return pagesOfLines<Extract<Line, { text: string }>>(
    settings,
    checkNotHtml(settings, readLines(body)),
    skipThrough,
    (line, position, page) => {
      const value = stripComment(line.text).trim();
      if (value !== '') page.entry({ value, position });
    },
    onTruncated,
  );
}

async function* checkNotHtml(settings: SourceSettings, lines: AsyncIterable<Line>): AsyncGenerator<Line> {
  let first = true;
  for await (const line of lines) {
    if (first && 'text' in line && line.text.trim() !== '') {
      first = false;
      if (looksLikeHtml(line.text))
        throw new Error(`source ${settings.name}: the response is an HTML page, not a feed`);
    }
    yield line;
  }
}

/** A `#` opens a comment at the start of a line or after white space; inside a URL it is a fragment. */
function stripComment(line: string): string {
  return line.replace(/(^|\s)#.*$/, '');
}
