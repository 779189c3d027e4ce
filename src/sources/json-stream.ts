import { JSONParser } from '@streamparser/json';
import { isAbort, describeStreamError } from './lines.js';
import { MAX_RECORD_BYTES } from './settings.js';

/** One value found at a selected path. `key` is its array index or object key. */
export type JsonItem =
  | { kind: 'value'; key: string | number | undefined; depth: number; value: unknown }
  /** The document stopped making sense at this point; the items before it stand. */
  | { kind: 'broken'; problem: string; truncated: boolean };

/** The body is not JSON at all (an HTML page, plain text): nothing in it can be read. */
export class NotJsonError extends Error {}

/**
 * Streams the values at the given JSONPath-like selectors (`$.objects.*`, `$.next`) out of a body without
 * holding the whole document: memory is one value, capped at `maxRecordBytes`. The body is decoded as
 * UTF-8 with replacement characters; callers check the fields they use (see `hasBadUtf8`).
 */
export async function* streamJson(
  body: AsyncIterable<Buffer | string>,
  paths: string[],
  maxRecordBytes = MAX_RECORD_BYTES,
): AsyncGenerator<JsonItem> {
  const parser = new JSONParser({ paths, keepStack: false });
  const found: JsonItem[] = [];
  let bytesSinceValue = 0;
  let sawAnyByte = false;
  let values = 0;
  parser.onValue = ({ value, key, stack }) => {
    bytesSinceValue = 0;
    values++;
    found.push({ kind: 'value', key, depth: stack.length, value });
  };
  const decoder = new TextDecoder('utf-8');
  try {
    for await (const chunk of body) {
      const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      if (!sawAnyByte && text.trim() !== '') {
        sawAnyByte = true;
        const first = text.trimStart()[0];
        if (first !== '{' && first !== '[') throw new NotJsonError(describeStart(text));
      }
      bytesSinceValue += text.length;
      try {
        parser.write(text);
      } catch (err) {
        yield* drain(found);
        if (values === 0) throw new NotJsonError(`not valid JSON (${(err as Error).message})`);
        yield { kind: 'broken', problem: `not valid JSON after this point`, truncated: false };
        return;
      }
      yield* drain(found);
      if (bytesSinceValue > maxRecordBytes) {
        yield {
          kind: 'broken',
          problem: `a record longer than ${maxRecordBytes} bytes; reading stopped`,
          truncated: false,
        };
        return;
      }
    }
  } catch (err) {
    if (err instanceof NotJsonError || isAbort(err)) throw err;
    yield* drain(found);
    yield { kind: 'broken', problem: `the body broke off (${describeStreamError(err)})`, truncated: true };
    return;
  }
  if (!sawAnyByte) throw new NotJsonError('an empty body');
  if (!parser.isEnded) {
    try {
      parser.end();
    } catch {
      yield* drain(found);
      yield { kind: 'broken', problem: 'the document ends early (truncated)', truncated: true };
      return;
    }
  }
  yield* drain(found);
}

function* drain(found: JsonItem[]): Generator<JsonItem> {
  yield* found.splice(0, found.length);
}

function describeStart(text: string): string {
  const start = text.trimStart();
  if (/^<(!doctype html|html|head|body)\b/i.test(start)) return 'an HTML page instead of JSON';
  return `not JSON (starts with ${JSON.stringify(start.slice(0, 20))})`;
}

/** U+FFFD in a value means the body held bytes that are not UTF-8 there: the value cannot be trusted. */
export function hasBadUtf8(value: string): boolean {
  return value.includes('\ufffd');
}

/** Values at the selected paths numbered from 1 (the cursor of JSON exports), with problems in line. */
export async function* numberedJson(
  sourceName: string,
  body: AsyncIterable<Buffer | string>,
  paths: string[],
): AsyncGenerator<
  | { no: number; key: string | number | undefined; value: unknown }
  | { no: number; problem: string; truncated?: true }
> {
  let no = 0;
  try {
    for await (const item of streamJson(body, paths)) {
      no++;
      if (item.kind === 'value') yield { no, key: item.key, value: item.value };
      else yield { no, problem: item.problem, ...(item.truncated ? { truncated: true as const } : {}) };
    }
  } catch (err) {
    if (err instanceof NotJsonError) throw new Error(`source ${sourceName}: the response is ${err.message}`);
    throw err;
  }
}
