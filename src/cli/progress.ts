import cliProgress from 'cli-progress';
import type { CycleProgress } from '../shared/messages.js';

/** How a command shows a cycle's progress while it waits for it. */
export interface ProgressDisplay {
  update(progress: CycleProgress): void;
  stop(): void;
}

/** Children settled so far: scored, failed, or left to an enrichment already running. */
const settled = (p: CycleProgress) => p.completed + p.failed + p.alreadyRunning;

export interface ProgressDisplayOptions {
  stream?: NodeJS.WriteStream;
  /**
   * Without a terminal: print a plain line at most every `plainEveryMs` (and on every stage change), or
   * nothing at all when false, so a cron job's log stays quiet. @default false
   */
  plainLines?: boolean;
  /** @default 10000 */
  plainEveryMs?: number;
}

/**
 * A progress bar on a terminal (stderr, so stdout stays machine-readable), plain periodic lines when
 * asked for and there is no terminal, otherwise nothing.
 */
export function cycleProgressDisplay(cycleId: string, options: ProgressDisplayOptions = {}): ProgressDisplay {
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY) return progressBar(stream);
  if (options.plainLines) return plainLines(cycleId, stream, options.plainEveryMs ?? 10_000);
  return { update: () => undefined, stop: () => undefined };
}

function progressBar(stream: NodeJS.WriteStream): ProgressDisplay {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format:
        '{stage} [{bar}] {value}/{total} enriched, {failed} failed | {collected} collected, ' +
        '{delivered} delivered | {duration_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      // Zero planned IOCs while collecting is not "done": an empty bar until the plan exists.
      emptyOnZero: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const payload = {
        stage: p.stage.padEnd(10),
        failed: p.failed,
        collected: p.collected ?? 0,
        delivered: p.delivered ?? 0,
      };
      if (!started) {
        bar.start(p.planned, settled(p), payload);
        started = true;
        return;
      }
      bar.setTotal(p.planned);
      bar.update(settled(p), payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function plainLines(cycleId: string, stream: NodeJS.WriteStream, everyMs: number): ProgressDisplay {
  let lastAt = 0;
  let lastLine = '';
  let lastStage = '';
  return {
    update(p) {
      const line =
        `iocflow: cycle ${cycleId}: ${p.stage}, ${p.collected ?? 0} collected, ` +
        `${settled(p)}/${p.planned} enriched, ${p.scoreChanged} scores changed, ${p.failed} failed, ` +
        `${p.delivered ?? 0} delivered`;
      const now = Date.now();
      if (line === lastLine || (p.stage === lastStage && now - lastAt < everyMs)) return;
      stream.write(line + '\n');
      lastAt = now;
      lastLine = line;
      lastStage = p.stage;
    },
    stop: () => undefined,
  };
}
