import type { CycleReport } from '../shared/messages.js';

/** A cycle report as an operator reads it on a terminal. */
export function formatCycleReport(report: CycleReport): string {
  const lines = [`cycle ${report.cycleId}`];
  for (const s of report.sources) {
    const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0);
    lines.push(
      s.status === 'failed'
        ? `  source ${s.source}: FAILED: ${s.error ?? 'unknown error'}`
        : `  source ${s.source}: ${s.entries} entries, ${s.indicators} indicators, ${s.newIocs} new, ` +
            `${s.allowlisted} allowlisted, ${rejected} rejected${rejected ? ` (${formatCounts(s.rejected)})` : ''}` +
            (s.unreadable ? `, ${s.unreadable} unreadable` : '') +
            (s.skipped ? `, skipped (${formatCounts(s.skipped)})` : ''),
    );
  }
  const p = report.progress;
  lines.push(
    `  enrichment: ${p.planned} planned, ${p.completed} scored (${p.scoreChanged} changed), ` +
      `${p.alreadyRunning} already running, ${p.failed} failed`,
  );
  if (p.decayed !== undefined)
    lines.push(`  decay: ${p.decayed} aged scores recorded, ${p.expired ?? 0} expired`);
  for (const s of report.sinks) {
    lines.push(
      s.error
        ? `  sink ${s.sink}: FAILED (outbox kept for the next cycle): ${s.error}`
        : `  sink ${s.sink}: ${s.delivered} delivered, ${s.rejected} rejected, ${s.pending} pending`,
    );
  }
  return lines.join('\n');
}

function formatCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
