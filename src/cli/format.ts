import type { CycleReport } from '../shared/messages.js';
import type { IocDetails } from '../store/index.js';

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

/** One IOC as an analyst reads it: verdict first, then why, then where it came from and where it went. */
export function formatIocDetails(d: IocDetails, webUi: string): string {
  const lines = [`${d.key}${d.allowlist ? `  (allowlisted: ${d.allowlist})` : ''}`];
  if (d.score) {
    const s = d.score;
    lines.push(
      `  score ${s.score} (${s.severity}), confidence ${s.confidence}, version ${s.version} of model ${s.modelVersion}, ` +
        `computed ${s.computedAt}${s.expiresAt ? `, expires ${s.expiresAt}` : ''}`,
    );
    for (const c of s.explanation) lines.push(`    ${String(c.points).padStart(4)}  ${c.factor}: ${c.input}`);
    if (d.history.length > 1)
      lines.push(`  history: ${d.history.map((h) => `v${h.version} ${h.score}`).join(', ')}`);
  } else {
    lines.push(`  not scored yet (status ${d.status})`);
  }
  lines.push(`  seen ${d.firstSeen} … ${d.lastSeen}`);
  for (const s of d.sightings) {
    lines.push(
      `  source ${s.source}${s.ref ? ` [${s.ref}]` : ''}: ${s.lastSeen}` +
        (s.confidence !== null ? `, confidence ${s.confidence}` : '') +
        (s.tags.length ? `, tags ${s.tags.join(', ')}` : ''),
    );
  }
  for (const v of d.vendors) {
    if (v.said) lines.push(`  ${v.said} (${v.fetchedAt})`);
    if (v.gap) lines.push(`  ${v.vendor} unavailable: ${v.gap} (${v.gapAt})`);
  }
  for (const x of d.deliveries) {
    lines.push(
      `  sink ${x.sink}: ${x.action} v${x.scoreVersion} ${x.outcome}${x.at ? ` ${x.at}` : ''}${x.message ? `: ${x.message}` : ''}`,
    );
  }
  lines.push(`  Web UI: ${webUi}`);
  return lines.join('\n') + '\n';
}

/** A plain text table: a header row, then the rows, columns padded to their widest cell. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}
