import { z } from 'zod';
import type { CycleProgress } from '../shared/messages.js';
import type { CycleRow } from '../store/index.js';
import { formatTable } from './format.js';

// `iocflow cycles`: the store's cycle rows with their statistics, and the running cycle's live progress.

/** The parts of a stored cycle report this view reads; a report from an older version that lacks them shows no statistics. */
const storedReport = z.object({
  sources: z.array(
    z.object({
      source: z.string(),
      status: z.string(),
      entries: z.number(),
      newIocs: z.number(),
      rejected: z.record(z.string(), z.number()),
      unreadable: z.number().default(0),
    }),
  ),
  progress: z.object({
    planned: z.number(),
    completed: z.number(),
    failed: z.number(),
    alreadyRunning: z.number(),
    scoreChanged: z.number(),
  }),
  sinks: z.array(
    z.object({
      sink: z.string(),
      delivered: z.number(),
      rejected: z.number(),
      pending: z.number(),
      error: z.string().optional(),
    }),
  ),
});

export interface CycleSummary {
  id: string;
  /**
   * `incomplete`: the row has no end and no such cycle runs (it failed or was terminated); `unknown`: it
   * has no end and Temporal could not be asked whether it runs.
   */
  status: 'running' | 'finished' | 'incomplete' | 'unknown';
  /** The running cycle's stage, from its progress query (null when no worker answered). */
  stage: CycleProgress['stage'] | null;
  startedAt: string;
  finishedAt: string | null;
  /** Until now for a cycle that has not finished. */
  durationSeconds: number;
  /** Raw entries read, IOCs stored for the first time, entries rejected or unreadable; null while running. */
  sources: { collected: number; new: number; rejected: number; failed: string[] } | null;
  enrichment: {
    planned: number;
    completed: number;
    failed: number;
    alreadyRunning: number;
    scoreChanged: number;
  } | null;
  /** Delivered per sink; a sink that failed is listed in `sinksFailed` (its outbox waits for the next cycle). */
  delivered: Record<string, number> | null;
  sinksFailed: string[];
}

export function summariseCycle(
  row: CycleRow,
  /** `running` undefined: Temporal could not be reached. */
  live: { running: boolean | undefined; progress?: CycleProgress | undefined },
  now: number,
): CycleSummary {
  const report = row.stats === null ? undefined : storedReport.safeParse(row.stats).data;
  const progress = report?.progress ?? live.progress;
  return {
    id: row.id,
    status:
      row.finishedAt !== null
        ? 'finished'
        : live.running === undefined
          ? 'unknown'
          : live.running
            ? 'running'
            : 'incomplete',
    stage: row.finishedAt === null && live.running ? (live.progress?.stage ?? null) : null,
    startedAt: new Date(row.startedAt).toISOString(),
    finishedAt: row.finishedAt === null ? null : new Date(row.finishedAt).toISOString(),
    durationSeconds: Math.round(((row.finishedAt ?? now) - row.startedAt) / 1000),
    sources: report
      ? {
          collected: sum(report.sources.map((s) => s.entries)),
          new: sum(report.sources.map((s) => s.newIocs)),
          rejected: sum(report.sources.map((s) => sum(Object.values(s.rejected)) + s.unreadable)),
          failed: report.sources.filter((s) => s.status === 'failed').map((s) => s.source),
        }
      : null,
    enrichment: progress
      ? {
          planned: progress.planned,
          completed: progress.completed,
          failed: progress.failed,
          alreadyRunning: progress.alreadyRunning,
          scoreChanged: progress.scoreChanged,
        }
      : null,
    delivered: report ? Object.fromEntries(report.sinks.map((s) => [s.sink, s.delivered])) : null,
    sinksFailed: report ? report.sinks.filter((s) => s.error !== undefined).map((s) => s.sink) : [],
  };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** 75 → `1m15s`, 3725 → `1h02m05s`. */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m${pad(s)}s`;
  return m > 0 ? `${m}m${pad(s)}s` : `${s}s`;
}

/** Newest first, one line per cycle. */
export function formatCycles(cycles: CycleSummary[]): string {
  if (cycles.length === 0) return 'no cycles recorded yet\n';
  const dash = '-';
  const table = formatTable(
    [
      'CYCLE',
      'STATUS',
      'STARTED',
      'DURATION',
      'COLLECTED',
      'NEW',
      'REJECTED',
      'PLANNED',
      'DONE',
      'FAILED',
      'DELIVERED',
    ],
    cycles.map((c) => [
      c.id,
      c.status === 'running' ? `running (${c.stage ?? 'no answer'})` : c.status,
      c.startedAt.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z'),
      formatDuration(c.durationSeconds),
      c.sources ? String(c.sources.collected) : dash,
      c.sources ? String(c.sources.new) : dash,
      c.sources ? String(c.sources.rejected) : dash,
      c.enrichment ? String(c.enrichment.planned) : dash,
      c.enrichment ? String(c.enrichment.completed) : dash,
      c.enrichment ? String(c.enrichment.failed) : dash,
      c.delivered
        ? Object.entries(c.delivered)
            .map(([sink, n]) => `${sink} ${n}${c.sinksFailed.includes(sink) ? ' (failed)' : ''}`)
            .join(', ') || 'no sinks'
        : dash,
    ]),
  );
  const failures = cycles
    .filter((c) => c.sources?.failed.length)
    .map(
      (c) =>
        `${c.id}: source${c.sources!.failed.length > 1 ? 's' : ''} failed: ${c.sources!.failed.join(', ')}\n`,
    );
  return table + failures.join('');
}
