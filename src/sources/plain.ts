import type { SourceConfigOf } from '../config/index.js';
import { pagesOfLines, lineCursor } from './delimited.js';
import { documentMemory, openDocument, openFile, type Location, type OpenedDocument } from './document.js';
import { looksLikeHtml, readLines, type Line } from './lines.js';
import { savedFileSettings, settingsOf, type SourceSettings } from './settings.js';
import type { Source, SourceContext, SourcePage, SourcePull } from './types.js';

type PlainConfig = SourceConfigOf<'plain'>;

/**
 * A text feed with one indicator per line, from a file or a URL; `#` starts a comment (at line start or
 * after a space), blank lines are skipped. The cursor is the last line read.
 */
export function plainSource(name: string, config: PlainConfig): Source {
  const settings = settingsOf(name, 'plain feed', config);
  return {
    name,
    config,
    pull(context: SourceContext): SourcePull {
      let opened: OpenedDocument | undefined;
      let truncated = false;
      return {
        pages: (async function* () {
          opened = await openDocument(context, settings, config satisfies Location);
          if (opened.status === 'unchanged') return;
          yield* plainPages(settings, opened.body, lineCursor(context.resumeFrom), () => (truncated = true));
        })(),
        memory: () => documentMemory(context.memory, opened, truncated),
      };
    },
  };
}

/** `iocflow parse --format plain PATH`. */
export async function* readPlainFile(path: string): AsyncGenerator<SourcePage> {
  const settings = savedFileSettings(path, 'plain feed');
  yield* plainPages(settings, await openFile(settings, path), 0, () => {});
}

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
