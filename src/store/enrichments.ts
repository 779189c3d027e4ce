import { and, eq, sql } from 'drizzle-orm';
import type { Lookup, Verdict } from '../enrichers/types.js';
import type { StoreDb } from './open.js';
import { placeholders, preparedPerConnection } from './prepared.js';
import { enrichments, vendorUsage } from './schema.js';

/** Every vendor lookup reads the cache, takes a call from the budget and stores the answer. */
const statements = preparedPerConnection((db) => {
  const answer = placeholders('fetchedAt', 'outcome', 'verdict');
  return {
    cached: db
      .select()
      .from(enrichments)
      .where(eq(enrichments.iocId, sql.placeholder('iocId')))
      .prepare(),
    storeLookup: db
      .insert(enrichments)
      .values({ ...placeholders('iocId', 'vendor'), ...answer })
      .onConflictDoUpdate({ target: [enrichments.iocId, enrichments.vendor], set: answer })
      .prepare(),
    openUsageDay: db
      .insert(vendorUsage)
      .values(placeholders('vendor', 'day'))
      .onConflictDoNothing()
      .prepare(),
    takeCall: db
      .update(vendorUsage)
      .set({ calls: sql`${vendorUsage.calls} + 1` })
      .where(
        and(
          eq(vendorUsage.vendor, sql.placeholder('vendor')),
          eq(vendorUsage.day, sql.placeholder('day')),
          eq(vendorUsage.exhausted, false),
          sql`${vendorUsage.calls} < ${sql.placeholder('budget')}`,
        ),
      )
      .prepare(),
  };
});

export interface CachedEnrichment {
  vendor: string;
  /** When the vendor last answered; null while it never has. */
  fetchedAt: number | null;
  lookup: Lookup | null;
  gapAt: number | null;
  gap: string | null;
}

/** A cached answer as the vendor gave it, or null while the vendor never answered. */
export function storedLookup(outcome: 'ok' | 'not_found' | null, verdict: string | null): Lookup | null {
  if (outcome === 'ok' && verdict) return { outcome: 'ok', verdict: JSON.parse(verdict) as Verdict };
  return outcome === 'not_found' ? { outcome: 'not_found' } : null;
}

export function readEnrichments(db: StoreDb, iocId: number): CachedEnrichment[] {
  return statements(db)
    .cached.all({ iocId })
    .map((row) => ({
      vendor: row.vendor,
      fetchedAt: row.fetchedAt,
      lookup: storedLookup(row.outcome, row.verdict),
      gapAt: row.gapAt,
      gap: row.gap,
    }));
}

/** Stores a vendor's answer as the cache entry; a later gap does not erase it. */
export function storeLookup(db: StoreDb, iocId: number, vendor: string, lookup: Lookup, now: number): void {
  statements(db).storeLookup.run({
    iocId,
    vendor,
    fetchedAt: now,
    outcome: lookup.outcome,
    verdict: lookup.outcome === 'ok' ? JSON.stringify(lookup.verdict) : null,
  });
}

/** Records that a lookup could not be made or failed, keeping the last good answer. */
export function recordGap(db: StoreDb, iocId: number, vendor: string, gap: string, now: number): void {
  db.insert(enrichments)
    .values({ iocId, vendor, gapAt: now, gap })
    .onConflictDoUpdate({ target: [enrichments.iocId, enrichments.vendor], set: { gapAt: now, gap } })
    .run();
}

/** The UTC day a call counts against: vendors' daily quotas reset at 00:00 UTC. */
export function usageDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/**
 * Takes one call from the vendor's daily budget, atomically: false when the budget is spent (or the
 * vendor said so), and then no call is made at all.
 */
export function reserveVendorCall(db: StoreDb, vendor: string, budget: number, now: number): boolean {
  const day = usageDay(now);
  const { openUsageDay, takeCall } = statements(db);
  return db.$client.transaction(() => {
    openUsageDay.run({ vendor, day });
    return takeCall.run({ vendor, day, budget }).changes === 1;
  })();
}

/** The vendor answered that its quota is spent: no more calls today, whatever the configured budget says. */
export function markVendorExhausted(db: StoreDb, vendor: string, now: number): void {
  const day = usageDay(now);
  db.insert(vendorUsage)
    .values({ vendor, day, exhausted: true })
    .onConflictDoUpdate({ target: [vendorUsage.vendor, vendorUsage.day], set: { exhausted: true } })
    .run();
}

export function vendorCallsToday(db: StoreDb, vendor: string, now: number): number {
  const row = db
    .select({ calls: vendorUsage.calls })
    .from(vendorUsage)
    .where(and(eq(vendorUsage.vendor, vendor), eq(vendorUsage.day, usageDay(now))))
    .get();
  return row?.calls ?? 0;
}
