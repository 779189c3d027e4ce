/**
 * How long the next caller waits for a turn's report before it is spaced from the turn's start instead: a
 * request that cannot connect must not stop the vendor's other lookups.
 * @default 1 second
 */
export const SEND_WAIT_MS = 1_000;

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
 * then start at once, a burst past the vendor's window (seen in the vendor-storm fault test). For the
 * same reason the next caller is spaced from when the request actually went out, if that was later: a
 * stall between a turn and the socket write sent one request late and the next right behind it, 16 in
 * one second against a limit of 15 (the vendor-storm test under CI load).
 *
 * The price: a timer that fires late, or a request slow to leave, delays every later start by as much, so
 * on a busy worker the rate falls below the limit (8.4–8.6 calls/s at a limit of 10 in bench/enrich.bench.ts,
 * measured before sends were reported). A sliding-window log, which only waits for the call `requests`
 * back, kept 9.0–9.2 calls/s there but let the task queue's bursts through and drew 429s at 20 calls/s
 * where even spacing drew none; so even spacing stays.
 */
export class Pacer {
  private readonly intervalMs: number;
  /** When the last caller was let through, or its request went out, whichever was later. */
  private last = Number.NEGATIVE_INFINITY;
  /** Callers go in arrival order: each waits for the one before it to be let through and sent. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    requests: number,
    perMs: number,
    margin = 0.05,
    private readonly clock: PacerClock = realClock,
  ) {
    this.intervalMs = (perMs / requests) * (1 + margin);
  }

  /**
   * Resolves when this caller may send its request; slots are handed out in arrival order. The caller
   * reports through the turn when the request has gone out (or will not): the next caller is spaced from
   * then, so a request that left late (an event-loop stall between this turn and the socket) does not reach
   * the vendor right before the next one. A turn never reported holds the next caller SEND_WAIT_MS at most.
   */
  wait(signal?: AbortSignal): Promise<PacerTurn> {
    const turn = this.queue.then(() => this.spaced(signal));
    // A cancelled caller gives its turn to the next at once.
    this.queue = turn.then(
      (t) => t.gone,
      () => undefined,
    );
    return turn.then((t) => t.turn);
  }

  /**
   * Makes one call in this caller's turn: `call` passes `onSent` to the HTTP client, and the turn ends when
   * the call does at the latest (a call that failed before sending must not hold the next caller).
   */
  async paced<T>(call: (onSent: () => void) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const turn = await this.wait(signal);
    try {
      return await call(() => turn.sent());
    } finally {
      turn.sent();
    }
  }

  private async spaced(signal: AbortSignal | undefined): Promise<{ turn: PacerTurn; gone: Promise<void> }> {
    for (;;) {
      if (signal?.aborted) throw cancelled(signal);
      const now = this.clock.now();
      const delay = this.last + this.intervalMs - now;
      if (delay <= 0) {
        this.last = now;
        return this.handOut();
      }
      await this.clock.sleep(delay, signal);
    }
  }

  private handOut(): { turn: PacerTurn; gone: Promise<void> } {
    const giveUp = new AbortController();
    let reported = false;
    let markGone = () => {};
    const gone = new Promise<void>((resolve) => (markGone = resolve));
    this.clock.sleep(SEND_WAIT_MS, giveUp.signal).then(markGone, () => undefined);
    const turn: PacerTurn = {
      sent: () => {
        if (reported) return;
        reported = true;
        this.last = Math.max(this.last, this.clock.now());
        giveUp.abort();
        markGone();
      },
    };
    return { turn, gone };
  }
}

/** A caller's slot: report when its request went out. */
export interface PacerTurn {
  /** The request has gone out, or will not go: later callers are spaced from now. Only the first call counts. */
  sent(): void;
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
