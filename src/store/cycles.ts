import { desc, eq } from 'drizzle-orm';
import type { StoreDb } from './open.js';
import { cycles } from './schema.js';

/** Records that a cycle started; a retried or continued cycle keeps its first start time. */
export function startCycleRow(db: StoreDb, cycleId: string, now: number): void {
  db.insert(cycles).values({ id: cycleId, startedAt: now }).onConflictDoNothing().run();
}

export function finishCycleRow(db: StoreDb, cycleId: string, now: number, stats: unknown): void {
  db.update(cycles)
    .set({ finishedAt: now, stats: JSON.stringify(stats) })
    .where(eq(cycles.id, cycleId))
    .run();
}

/** When the cycle started (its first run, before any continue-as-new); undefined for an unknown cycle. */
export function cycleStartedAt(db: StoreDb, cycleId: string): number | undefined {
  return db.select({ startedAt: cycles.startedAt }).from(cycles).where(eq(cycles.id, cycleId)).get()
    ?.startedAt;
}

export interface CycleRow {
  id: string;
  startedAt: number;
  finishedAt: number | null;
  stats: unknown;
}

export function recentCycles(db: StoreDb, limit: number): CycleRow[] {
  return db
    .select()
    .from(cycles)
    .orderBy(desc(cycles.startedAt))
    .limit(limit)
    .all()
    .map((r) => ({ ...r, stats: r.stats ? (JSON.parse(r.stats) as unknown) : null }));
}

export function findCycle(db: StoreDb, cycleId: string): CycleRow | undefined {
  const row = db.select().from(cycles).where(eq(cycles.id, cycleId)).get();
  return row && { ...row, stats: row.stats ? (JSON.parse(row.stats) as unknown) : null };
}
