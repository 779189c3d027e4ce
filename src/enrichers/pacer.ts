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
 */
export class Pacer {
  private readonly intervalMs: number;
  /** When the last caller was let through. */
  private last = Number.NEGATIVE_INFINITY;
  /** Callers go in arrival order: each waits for the one before it to be let through. */
  private queue: Promise<void> = Promise.resolve();

  constructor(requests: number, perMs: number, margin = 0.05) {
    this.intervalMs = (perMs / requests) * (1 + margin);
  }

  /** Resolves when this caller may start its call; slots are handed out in arrival order. */
  wait(signal?: AbortSignal, now: () => number = Date.now): Promise<void> {
    const turn = this.queue.then(() => this.spaced(signal, now));
    // A cancelled caller gives its turn to the next.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async spaced(signal: AbortSignal | undefined, now: () => number): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw cancelled(signal);
      const delay = this.last + this.intervalMs - now();
      if (delay <= 0) {
        this.last = now();
        return;
      }
      await sleep(delay, signal);
    }
  }
}

function cancelled(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new Error('cancelled while waiting for a vendor slot');
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
