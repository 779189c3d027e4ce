import type { Config } from '../config/index.js';
import { iocsToDecayAfter, recordScore, setDueTimes, type StoreDb } from '../store/index.js';
import { decayDue, evaluateIoc, sinkThresholds } from './score.js';

export interface DecayReport {
  /** Scored IOCs looked at: those whose score ageing may have moved, or that a source saw again. */
  checked: number;
  /** IOCs whose aged score was recorded as a new version (moved enough, crossed a threshold, or expired). */
  rescored: number;
  /** Of those, IOCs whose lifetime ended (score 0). */
  expired: number;
}

const PAGE = 500;

/**
 * The decay step of a cycle: every scored IOC whose decay check is due is re-evaluated at `now` from its
 * stored evidence (no vendor calls), and its next check is set. A new score is recorded only when it moved at least `scoring.redeliverDelta` points,
 * crossed a sink's threshold, or reached 0, so ageing does not re-deliver every IOC every cycle; crossing
 * below a threshold queues the withdrawal.
 */
export function decayScores(
  db: StoreDb,
  config: Config,
  cycleId: string,
  now: number,
  options: {
    afterId?: number;
    report?: DecayReport;
    onPage?: (lastId: number, report: DecayReport) => void;
  } = {},
): DecayReport {
  const report = options.report ?? { checked: 0, rescored: 0, expired: 0 };
  const sinks = sinkThresholds(config);
  let afterId = options.afterId ?? 0;
  for (;;) {
    const page = iocsToDecayAfter(db, afterId, now, PAGE);
    if (page.length === 0) break;
    for (const { id, key, score, lastSeen, type } of page) {
      report.checked++;
      const evaluation = evaluateIoc(db, config, key, now);
      if (!evaluation || score === null) continue;
      const next = evaluation.result.score;
      const crossed = sinks.some(({ threshold }) => score >= threshold !== next >= threshold);
      const moved = Math.abs(next - score) >= config.scoring.redeliverDelta;
      const record = next !== score && (crossed || moved || next === 0);
      // Measured from the score the IOC keeps: the recorded one when it changes, the stored one otherwise.
      const kept = record ? next : score;
      setDueTimes(db, id, { decay: decayDue(config, type, lastSeen, kept, evaluation.result.unaged) });
      if (!record) continue;
      recordScore(db, id, evaluation.result, sinks, cycleId, now);
      report.rescored++;
      if (next === 0) report.expired++;
    }
    afterId = page.at(-1)!.id;
    options.onPage?.(afterId, report);
  }
  return report;
}
