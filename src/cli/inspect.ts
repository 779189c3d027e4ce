import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { normaliseEntry, type Allowlists } from '../ioc/index.js';
import type { SourcePage } from '../sources/index.js';

// `iocflow normalize` and `iocflow parse`: what the pipeline would make of some input, one JSON line at
// a time. Their output shapes are stable: scripts depend on them.

export type NormalizeLine =
  { input: string; type: string; value: string; allowlisted?: string } | { input: string; rejected: string };

/** One line per outcome of each input line (one, unless the input is a composite). */
export async function* normalizeLines(
  input: Readable,
  allowlists: Allowlists,
): AsyncGenerator<NormalizeLine> {
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    for (const outcome of normaliseEntry(line)) {
      if (outcome.kind === 'rejected') {
        yield { input: line, rejected: outcome.reason };
        continue;
      }
      const allowlisted = allowlists.match(outcome);
      yield {
        input: line,
        type: outcome.type,
        value: outcome.value,
        ...(allowlisted ? { allowlisted } : {}),
      };
    }
  }
}

export type ParseLine =
  | { type: string; value: string; allowlisted?: string; tags?: string[]; ref?: string }
  | { rejected: string; entry: string }
  | { skipped: string; count: number };

/**
 * Distinct indicators a source's saved output yields (in order of first appearance, tags merged), every
 * rejected entry with its reason, and the count of records skipped per reason (offline, revoked…).
 */
export async function* parseLines(
  pages: AsyncIterable<SourcePage>,
  allowlists: Allowlists,
): AsyncGenerator<ParseLine> {
  const seen = new Map<
    string,
    { type: string; value: string; allowlisted?: string; tags: Set<string>; ref?: string }
  >();
  const skipped: Record<string, number> = {};
  for await (const page of pages) {
    for (const [reason, n] of Object.entries(page.skipped ?? {}))
      skipped[reason] = (skipped[reason] ?? 0) + n;
    for (const error of page.errors)
      yield { rejected: 'unreadable', entry: `${error.position}: ${error.message}` };
    for (const entry of page.entries) {
      for (const outcome of normaliseEntry(entry.value, entry.typeHint)) {
        if (outcome.kind === 'rejected') {
          yield { rejected: outcome.reason, entry: entry.value };
          continue;
        }
        const known = seen.get(outcome.key);
        if (known) {
          for (const tag of entry.tags ?? []) known.tags.add(tag);
          continue;
        }
        const allowlisted = allowlists.match(outcome);
        seen.set(outcome.key, {
          type: outcome.type,
          value: outcome.value,
          ...(allowlisted ? { allowlisted } : {}),
          tags: new Set(entry.tags ?? []),
          ...(entry.ref ? { ref: entry.ref } : {}),
        });
      }
    }
  }
  for (const { tags, ...indicator } of seen.values()) {
    yield { ...indicator, ...(tags.size > 0 ? { tags: [...tags] } : {}) };
  }
  for (const [reason, count] of Object.entries(skipped)) yield { skipped: reason, count };
}

export function openInput(path: string | undefined): Readable {
  return !path || path === '-' ? process.stdin : createReadStream(path, { encoding: 'utf8' });
}
