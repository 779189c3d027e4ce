/**
 * Spaces one process's calls to one vendor evenly: one start every `perMs / requests` (plus a margin).
 *
 * The vendor task queue's rate limit (maxTaskQueueActivitiesPerSecond) bounds the average across all
 * workers, but it dispatches in bursts (up to about twice the rate within one second on the dev server),
 * and vendors count with strict sliding windows, by arrival: a burst costs 429s and window-long waits.
 * Even spacing, rather than a window that refills in bursts, also keeps arrival jitter from squeezing
 * two bursts into one vendor window; the margin absorbs what jitter is left.
 *
 * A caller's start is taken when it is let through, not booked when it arrives: a slot booked ahead would
 * be lost to an event-loop stall (a busy worker), and every caller whose slot fell inside the stall would
 * then start at once, a burst past the vendor's window (seen in the vendor-storm fault test).
 *
 * The price: a timer that fires late delays every later start by as much, so on a busy worker the rate falls
 * below the limit (8.4–8.6 calls/s at a limit of 10, bench/enrich.bench.ts). A sliding-window log, which only
 * waits for the call `requests` back, kept 9.0–9.2 calls/s there but let the task queue's bursts through and
 * drew 429s at 20 calls/s where even spacing drew none; so even spacing stays.
 */
export class Pacer {
  private readonly intervalMs: number;
  /** When the last caller was let through. */
  private last = Number.NEGATIVE_INFINITY;
  /** Callers go in arrival order: each waits for the one before it to be let through. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    requests: number,
    perMs: number,
    margin = 0.05,
    private readonly clock: PacerClock = realClock,
  ) {
    this.intervalMs = (perMs / requests) * (1 + margin);
  }

  /** Resolves when this caller may start its call; slots are handed out in arrival order. */
  wait(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.spaced(signal));
    // A cancelled caller gives its turn to the next.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async spaced(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw cancelled(signal);
      const now = this.clock.now();
      const delay = this.last + this.intervalMs - now;
      if (delay <= 0) {
        this.last = now;
        return;
      }
      await this.clock.sleep(delay, signal);
    }
  }
}

/** Time for a pacer: the real one, or a simulated one in tests. */
export interface PacerClock {
  now(): number;
  /** Resolves after `ms` (or later), rejects when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const realClock: PacerClock = {
  now: Date.now,
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(cancelled(signal!));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

function cancelled(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new Error('cancelled while waiting for a vendor slot');
}
