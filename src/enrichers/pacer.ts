/**
 * Spaces one process's calls to one vendor evenly: one start every `perMs / requests` (plus a margin).
 *
 * The vendor task queue's rate limit (maxTaskQueueActivitiesPerSecond) bounds the average across all
 * workers, but it dispatches in bursts (up to about twice the rate within one second on the dev server),
 * and vendors count with strict sliding windows, by arrival: a burst costs 429s and window-long waits.
 * Even spacing, rather than a window that refills in bursts, also keeps arrival jitter from squeezing
 * two bursts into one vendor window; the margin absorbs what jitter is left.
 */
export class Pacer {
  private readonly intervalMs: number;
  private next = 0;

  constructor(requests: number, perMs: number, margin = 0.05) {
    this.intervalMs = (perMs / requests) * (1 + margin);
  }

  /** Resolves when this caller may start its call; slots are handed out in arrival order. */
  async wait(signal?: AbortSignal, now: () => number = Date.now): Promise<void> {
    const start = Math.max(now(), this.next);
    this.next = start + this.intervalMs;
    const delay = start - now();
    if (delay <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, delay);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(
            signal.reason instanceof Error
              ? signal.reason
              : new Error('cancelled while waiting for a vendor slot'),
          );
        },
        { once: true },
      );
    });
  }
}
