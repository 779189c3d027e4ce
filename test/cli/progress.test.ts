import { describe, expect, test } from 'vitest';
import { cycleProgressDisplay } from '../../src/cli/progress.js';
import type { CycleProgress } from '../../src/shared/messages.js';

const at = (stage: CycleProgress['stage'], completed: number, failed = 0): CycleProgress => ({
  stage,
  planned: 10,
  started: completed + failed,
  completed,
  alreadyRunning: 0,
  failed,
  scoreChanged: completed,
  collected: 40,
  ...(stage === 'delivering' ? { delivered: 7 } : {}),
});

function captured() {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  return { lines, stream };
}

describe('cycle progress without a terminal', () => {
  test('plain lines: the first update, every stage change, and no repeats within the interval', () => {
    const { lines, stream } = captured();
    const display = cycleProgressDisplay('cycle-7', { stream, plainLines: true, plainEveryMs: 60_000 });
    display.update(at('enriching', 2));
    display.update(at('enriching', 3));
    display.update(at('enriching', 3));
    display.update(at('delivering', 9, 1));
    display.stop();
    expect(lines).toEqual([
      'iocflow: cycle cycle-7: enriching, 40 collected, 2/10 enriched, 2 scores changed, 0 failed, 0 delivered\n',
      'iocflow: cycle cycle-7: delivering, 40 collected, 10/10 enriched, 9 scores changed, 1 failed, 7 delivered\n',
    ]);
  });

  test('a line per change once the interval has passed', () => {
    const { lines, stream } = captured();
    const display = cycleProgressDisplay('c', { stream, plainLines: true, plainEveryMs: 0 });
    display.update(at('enriching', 2));
    display.update(at('enriching', 2));
    display.update(at('enriching', 3));
    expect(lines).toHaveLength(2);
  });

  test('nothing at all unless plain lines are asked for (run-once keeps a cron log quiet)', () => {
    const { lines, stream } = captured();
    const display = cycleProgressDisplay('c', { stream });
    display.update(at('enriching', 2));
    display.stop();
    expect(lines).toEqual([]);
  });
});
