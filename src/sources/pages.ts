import type { z } from 'zod';
import type { EntryError, RawEntry, SourcePage } from './types.js';

/**
 * Collects one page of entries, errors and skips; a source calls `full()` after each record and yields
 * `take(cursor)` when it is. Every source pages the same way, so resume cursors mean the same everywhere:
 * the state after the last record of a stored page.
 */
export class PageBuilder {
  private entries: RawEntry[] = [];
  private errors: EntryError[] = [];
  private skipped: Record<string, number> = {};
  private records = 0;

  constructor(private readonly pageSize: number) {}

  entry(entry: RawEntry): void {
    this.entries.push(entry);
    this.records++;
  }

  error(position: string, message: string): void {
    this.errors.push({ position, message });
    this.records++;
  }

  skip(reason: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
    this.records++;
  }

  /** Enough records for a page (skipped ones count: a page of skips still moves the cursor). */
  full(): boolean {
    return this.records >= this.pageSize;
  }

  isEmpty(): boolean {
    return this.records === 0;
  }

  take(cursor: string): SourcePage {
    const page: SourcePage = { entries: this.entries, errors: this.errors, cursor };
    if (Object.keys(this.skipped).length > 0) page.skipped = this.skipped;
    this.entries = [];
    this.errors = [];
    this.skipped = {};
    this.records = 0;
    return page;
  }
}

/**
 * Cursors are JSON so a source can carry what it needs to resume (a page number, a next URL, the
 * watermark seen so far). A cursor that does not parse is a bug or a config change between attempts;
 * starting over is safe (sightings are idempotent), so it reads as "no cursor".
 */
export function readCursor<T>(schema: z.ZodType<T>, cursor: string | undefined): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(cursor));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function writeCursor<T>(value: T): string {
  return JSON.stringify(value);
}

/** Later of two ISO-8601 / epoch-string watermarks compared as given by `order`. */
export function laterOf(a: string | undefined, b: string | undefined, order: (x: string) => number) {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return order(b) > order(a) ? b : a;
}

/** zod issues of one record as a short message naming the first bad fields. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'record'}: ${i.message}`)
    .join('; ');
}
