import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { SourceConfig } from '../config/index.js';
import type { RawEntry, Source, SourceContext, SourcePage, SourcePull } from './types.js';

type PlainConfig = Extract<SourceConfig, { type: 'plain' }>;

const PAGE_SIZE = 1000;

/**
 * A local text file with one indicator per line; `#` starts a comment (at line start or after a space), blank lines are skipped.
 * The cursor is the number of lines consumed, so a resumed pull skips the pages already stored.
 */
export function plainFileSource(name: string, config: PlainConfig): Source {
  return {
    name,
    config,
    pull(context: SourceContext): SourcePull {
      return {
        pages: readPlainFile(config.path, Number(context.resumeFrom ?? 0), context.signal),
        // A local file is read whole every cycle; the store's dedup makes a re-read cost no enrichment.
        memory: () => ({}),
      };
    },
  };
}

/** Pages of a plain indicator file, after the first `skipLines` lines. */
export async function* readPlainFile(
  path: string,
  skipLines = 0,
  signal?: AbortSignal,
): AsyncGenerator<SourcePage> {
  const lines = createInterface({
    input: createReadStream(path, { encoding: 'utf8', signal }),
    crlfDelay: Infinity,
  });
  let lineNo = 0;
  let entries: RawEntry[] = [];
  for await (const line of lines) {
    lineNo++;
    if (lineNo <= skipLines) continue;
    const value = stripComment(line).trim();
    if (value !== '') entries.push({ value, position: `${path}:${lineNo}` });
    if (entries.length >= PAGE_SIZE) {
      yield { entries, errors: [], cursor: String(lineNo) };
      entries = [];
    }
  }
  yield { entries, errors: [], cursor: String(lineNo) };
}

/** A `#` opens a comment at the start of a line or after white space; inside a URL it is a fragment. */
function stripComment(line: string): string {
  return line.replace(/(^|\s)#.*$/, '');
}
