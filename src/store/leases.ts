import { and, eq, lte, or } from 'drizzle-orm';
import type { StoreDb } from './open.js';
import { sinkLeases } from './schema.js';

/** Whether the caller holds a sink's delivery lease; when it does not, who does (none: the lease is free). */
export type LeaseState = { held: true; expiresAt: number } | { held: false; holder: string | undefined };

/**
 * Takes a sink's delivery lease for `holder` until `now + ttlMs`: when nobody holds it, when its holder
 * let it expire (crashed or stalled), or when `holder` already holds it. One upsert decides, so two
 * drainers racing for a free lease cannot both win.
 */
export function acquireLease(
  db: StoreDb,
  sink: string,
  holder: string,
  now: number,
  ttlMs: number,
): LeaseState {
  const expiresAt = now + ttlMs;
  return db.transaction(
    (tx) => {
      const taken = tx
        .insert(sinkLeases)
        .values({ sink, holder, expiresAt })
        .onConflictDoUpdate({
          target: sinkLeases.sink,
          set: { holder, expiresAt },
          setWhere: or(lte(sinkLeases.expiresAt, now), eq(sinkLeases.holder, holder)),
        })
        .returning({ sink: sinkLeases.sink })
        .get();
      if (taken) return { held: true as const, expiresAt };
      return { held: false as const, holder: holderOf(tx, sink) };
    },
    // The read that explains a refusal must see the row the upsert saw.
    { behavior: 'immediate' },
  );
}

/**
 * Extends `holder`'s lease to `now + ttlMs`. An expired lease nobody took over is still the holder's:
 * no other drainer ran in between. When another holder took it (or it was released), the caller lost it.
 */
export function renewLease(
  db: StoreDb,
  sink: string,
  holder: string,
  now: number,
  ttlMs: number,
): LeaseState {
  const expiresAt = now + ttlMs;
  const renewed = db
    .update(sinkLeases)
    .set({ expiresAt })
    .where(and(eq(sinkLeases.sink, sink), eq(sinkLeases.holder, holder)))
    .run();
  if (renewed.changes === 1) return { held: true, expiresAt };
  return { held: false, holder: holderOf(db, sink) };
}

/** Who holds a sink's lease now, live or expired; undefined when nobody does. */
function holderOf(db: Pick<StoreDb, 'select'>, sink: string): string | undefined {
  return db.select({ holder: sinkLeases.holder }).from(sinkLeases).where(eq(sinkLeases.sink, sink)).get()
    ?.holder;
}

/** Frees the lease if `holder` still holds it; returns whether it did (false: someone took it over). */
export function releaseLease(db: StoreDb, sink: string, holder: string): boolean {
  return (
    db
      .delete(sinkLeases)
      .where(and(eq(sinkLeases.sink, sink), eq(sinkLeases.holder, holder)))
      .run().changes === 1
  );
}
