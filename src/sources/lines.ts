import { MAX_RECORD_BYTES } from './settings.js';

export type Line =
  | { no: number; text: string }
  /** A line that could not be read: too long, not UTF-8, or the body broke off. */
  | { no: number; problem: string; truncated?: true };

const NEWLINE = 0x0a;

/**
 * Lines of a streamed body, numbered from 1, without their line ending. Memory stays bounded by
 * `maxBytes`: a longer line is reported and its bytes dropped as they arrive. Each line is decoded on its
 * own as strict UTF-8, so one bad byte costs one line, not the page. A body that breaks off (connection
 * reset, premature close) ends with a `truncated` problem; the lines before it stand.
 */
export async function* readLines(
  body: AsyncIterable<Buffer | string>,
  maxBytes = MAX_RECORD_BYTES,
): AsyncGenerator<Line> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  let no = 0;

  function* finishLine(last: Buffer): Generator<Line> {
    no++;
    if (overlong) {
      overlong = false;
      pending = [];
      pendingBytes = 0;
      yield { no, problem: `line longer than ${maxBytes} bytes` };
      return;
    }
    const bytes = pending.length === 0 ? last : Buffer.concat([...pending, last]);
    pending = [];
    pendingBytes = 0;
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      yield { no, problem: 'not valid UTF-8' };
      return;
    }
    if (no === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    yield { no, text: text.endsWith('\r') ? text.slice(0, -1) : text };
  }

  try {
    for await (const chunk of body) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(NEWLINE, start);
        if (nl < 0) break;
        const part = buf.subarray(start, nl);
        if (!overlong && pendingBytes + part.length > maxBytes) overlong = true;
        yield* finishLine(overlong ? Buffer.alloc(0) : part);
        start = nl + 1;
      }
      if (start < buf.length && !overlong) {
        const rest = buf.subarray(start);
        if (pendingBytes + rest.length > maxBytes) {
          overlong = true;
          pending = [];
          pendingBytes = 0;
        } else {
          // Copy: the chunk's memory may be reused by the stream.
          pending.push(Buffer.from(rest));
          pendingBytes += rest.length;
        }
      }
    }
  } catch (err) {
    if (isAbort(err)) throw err;
    yield { no: no + 1, problem: `the body broke off (${describeStreamError(err)})`, truncated: true };
    return;
  }
  if (pendingBytes > 0 || overlong) yield* finishLine(Buffer.alloc(0));
}

/**
 * Fields of one delimited line. Fields may be double-quoted (a doubled quote inside stands for one), and
 * spaces before an opening quote are ignored, which reads abuse.ch's `"a", "b"` style. A record spans one
 * line: IOC feeds have no line breaks inside fields. Returns undefined when quoting is broken.
 */
export function splitDelimited(line: string, delimiter: string): string[] | undefined {
  const fields: string[] = [];
  const n = line.length;
  let i = 0;
  for (;;) {
    let j = i;
    if (delimiter !== ' ') while (j < n && line[j] === ' ') j++;
    if (j < n && line[j] === '"') {
      let value = '';
      j++;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) return undefined;
        value += line.slice(j, q);
        if (line[q + 1] === '"') {
          value += '"';
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      if (delimiter !== ' ') while (j < n && line[j] === ' ') j++;
      fields.push(value);
      if (j >= n) return fields;
      if (line[j] !== delimiter) return undefined;
      i = j + 1;
    } else {
      const d = line.indexOf(delimiter, i);
      if (d < 0) {
        fields.push(line.slice(i));
        return fields;
      }
      fields.push(line.slice(i, d));
      i = d + 1;
    }
  }
}

/** The first line that is not blank looks like an HTML page (an error or login page served with 200). */
export function looksLikeHtml(text: string): boolean {
  return /^\s*<(!doctype html|html|head|body)\b/i.test(text);
}

export function isAbort(err: unknown): boolean {
  return (
    err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR')
  );
}

/** A stream error without anything of the request in it. */
export function describeStreamError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.name : 'error';
}
