import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { CycleReport } from '../../../src/shared/messages.js';
import type { RecordedRequest } from '../../fakes/server.js';

/**
 * A generated plain feed of `n` distinct IOCs: 30% IPv4 (all three vendors), the rest domains and SHA-256
 * hashes (VirusTotal only). `tag` keeps each test file's values apart: EnrichIoc workflow ids are global
 * on the shared test server.
 */
export function generateFeed(tag: string, firstOctet: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 10 < 3) out.push(`${firstOctet}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255 || 1}`);
    else if (i % 10 < 6) out.push(`h${i}.${tag}-fault.top`);
    else out.push(createHash('sha256').update(`${tag}:${i}`).digest('hex'));
  }
  return [...new Set(out)];
}

/** Reads the store file (WAL) while the worker writes it. */
export function readStore<T>(dir: string, read: (db: Database.Database) => T): T {
  const db = new Database(join(dir, 'iocflow.db'), { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** What a run left behind, comparable between a fault-free run and one with faults. */
export function storeCounts(dir: string) {
  return readStore(dir, (db) => {
    const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return {
      iocs: n('select count(*) as n from iocs'),
      sightings: n('select count(*) as n from sightings'),
      scored: n("select count(*) as n from iocs where status = 'scored'"),
      enrichments: db
        .prepare(
          'select vendor, outcome, count(*) as n from enrichments group by vendor, outcome order by 1, 2',
        )
        .all(),
      outbox: n('select count(*) as n from outbox'),
      delivered: n("select count(*) as n from deliveries where outcome = 'delivered'"),
      pending: n('select count(*) as n from outbox where id not in (select outbox_id from deliveries)'),
      duplicateSightings: n(
        'select count(*) as n from (select ioc_id, source, source_ref from sightings group by 1, 2, 3 having count(*) > 1)',
      ),
    };
  });
}

/** Each IOC's score, by key: a run with faults must score exactly as the fault-free one. */
export function scoresByKey(dir: string): Record<string, number | null> {
  return readStore(dir, (db) =>
    Object.fromEntries(
      (db.prepare('select key, score from iocs').all() as { key: string; score: number | null }[]).map(
        (r) => [r.key, r.score],
      ),
    ),
  );
}

/** Successful (2xx) lookups a vendor fake served, per looked-up resource. */
export function servedLookups(requests: RecordedRequest[], resource: (r: RecordedRequest) => string) {
  const served = new Map<string, RecordedRequest[]>();
  for (const r of requests) {
    if (r.status === undefined || r.status < 200 || r.status >= 300) continue;
    const key = resource(r);
    served.set(key, [...(served.get(key) ?? []), r]);
  }
  return served;
}

/** The counts of a cycle report that must not depend on faults. */
export function reportCounts(report: CycleReport) {
  return {
    sources: report.sources.map((s) => ({
      source: s.source,
      status: s.status,
      entries: s.entries,
      indicators: s.indicators,
      rejected: s.rejected,
      unreadable: s.unreadable,
    })),
    progress: {
      planned: report.progress.planned,
      completed: report.progress.completed,
      failed: report.progress.failed,
      alreadyRunning: report.progress.alreadyRunning,
    },
    sinks: report.sinks.map((s) => ({ sink: s.sink, delivered: s.delivered, pending: s.pending })),
  };
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // A query while the worker restarts: ask again.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
