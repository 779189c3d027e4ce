import { eq } from 'drizzle-orm';
import type { StoreDb } from './open.js';
import { sourceState } from './schema.js';

/** What a source remembers between pulls. */
export interface SourceMemory {
  /** Where the next incremental pull starts (a timestamp, an id…), as the source defines it. */
  watermark?: string | undefined;
  /** Validators for a conditional request: an unchanged feed then costs one 304. */
  etag?: string | undefined;
  lastModified?: string | undefined;
}

export function readSourceMemory(db: StoreDb, source: string): SourceMemory {
  const row = db.select().from(sourceState).where(eq(sourceState.source, source)).get();
  return {
    watermark: row?.watermark ?? undefined,
    etag: row?.etag ?? undefined,
    lastModified: row?.lastModified ?? undefined,
  };
}

/**
 * Moves a source's watermark and validators forward. Called only after every page of a pull was stored,
 * so nothing published between two pulls is skipped.
 */
export function recordSourceSuccess(db: StoreDb, source: string, memory: SourceMemory, now: number): void {
  const values = {
    watermark: memory.watermark ?? null,
    etag: memory.etag ?? null,
    lastModified: memory.lastModified ?? null,
    lastSuccessAt: now,
    lastError: null,
    updatedAt: now,
  };
  db.insert(sourceState)
    .values({ source, ...values })
    .onConflictDoUpdate({ target: sourceState.source, set: values })
    .run();
}

/** Records why a pull failed; the watermark stays where it was. */
export function recordSourceFailure(db: StoreDb, source: string, error: string, now: number): void {
  db.insert(sourceState)
    .values({ source, lastError: error, updatedAt: now })
    .onConflictDoUpdate({ target: sourceState.source, set: { lastError: error, updatedAt: now } })
    .run();
}
