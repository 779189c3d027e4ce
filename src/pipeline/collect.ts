import { emptyReport, type SourceReport } from '../shared/messages.js';
import { normaliseEntry, type Indicator } from '../ioc/index.js';
import type { Source } from '../sources/index.js';
import type { Got } from 'got';
import type { PipelineMetrics } from '../observability/metrics.js';
import {
  readSourceMemory,
  recordSightings,
  recordSourceSuccess,
  type Sighting,
  type SourceMemory,
  type StoreDb,
} from '../store/index.js';

/** Decides whether a valid indicator must never be delivered; returns the matching list's name. */
export interface AllowlistMatcher {
  match(indicator: Indicator): string | undefined;
}

export interface CollectOptions {
  cycleId: string;
  now: () => number;
  allowlists: AllowlistMatcher;
  http: Got;
  /** Resume point and counts from a previous attempt's last heartbeat. */
  resume?: { cursor: string; report: SourceReport } | undefined;
  /** Called after each page is stored; the activity heartbeats from here. */
  onPageStored?: (cursor: string, report: SourceReport) => void;
  signal?: AbortSignal | undefined;
  metrics?: PipelineMetrics | undefined;
}

export interface CollectResult {
  report: SourceReport;
  /** What the source remembers for its next pull; stored by `collect` once every page was taken. */
  memory: SourceMemory;
}

/**
 * Pulls a source page by page: normalise every entry, check the allowlists, and store the page's
 * sightings in one transaction. A bad entry is counted with its reason and never stops its neighbours.
 * The source's watermark moves only after the last page; a pull that throws leaves it where it was.
 */
export async function collect(source: Source, db: StoreDb, options: CollectOptions): Promise<CollectResult> {
  const report: SourceReport = options.resume?.report ?? emptyReport(source.name);
  const pull = source.pull({
    memory: readSourceMemory(db, source.name),
    http: options.http,
    resumeFrom: options.resume?.cursor,
    signal: options.signal,
  });
  for await (const page of pull.pages) {
    const seenAt = options.now();
    const batch: Sighting[] = [];
    report.unreadable += page.errors.length;
    for (const [reason, n] of Object.entries(page.skipped ?? {})) {
      report.skipped = { ...report.skipped, [reason]: (report.skipped?.[reason] ?? 0) + n };
    }
    for (const e of page.errors) noteProblem(report, `${e.position}: ${e.message}`);
    for (const entry of page.entries) {
      report.entries++;
      // A feed's own dates, where it gives them; a date after the pull is a clock or zone error of the feed,
      // and an IOC seen in the future would never age.
      const lastSeen = Math.min(entry.lastSeen ?? seenAt, seenAt);
      const firstSeen = Math.min(entry.firstSeen ?? lastSeen, lastSeen);
      options.metrics?.entryRead(source.name);
      for (const outcome of normaliseEntry(entry.value, entry.typeHint)) {
        if (outcome.kind === 'rejected') {
          report.rejected[outcome.reason] = (report.rejected[outcome.reason] ?? 0) + 1;
          options.metrics?.entryRejected(source.name, outcome.reason);
          noteProblem(
            report,
            `${entry.position}: ${outcome.reason}${outcome.detail ? ` (${outcome.detail})` : ''}`,
          );
          continue;
        }
        report.indicators++;
        const allowlist = options.allowlists.match(outcome);
        if (allowlist) report.allowlisted++;
        batch.push({
          key: outcome.key,
          type: outcome.type,
          value: outcome.value,
          allowlist,
          source: source.name,
          sourceRef: entry.ref,
          tags: [...new Set([...source.config.tags, ...(entry.tags ?? [])])],
          confidence: entry.confidence,
          seenAt: lastSeen,
          firstSeenAt: firstSeen,
        });
      }
    }
    if (batch.length > 0) report.newIocs += recordSightings(db, batch, options.cycleId).newIocs;
    options.onPageStored?.(page.cursor, report);
  }
  const memory = pull.memory();
  recordSourceSuccess(db, source.name, memory, options.now());
  return { report, memory };
}

/** Reports travel through workflow history: keep a handful of examples, not every bad line. */
const MAX_PROBLEMS = 10;

export function noteProblem(report: SourceReport, problem: string): void {
  if (report.problems.length < MAX_PROBLEMS) report.problems.push(problem.slice(0, 300));
}
