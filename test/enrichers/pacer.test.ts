import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Pacer, SEND_WAIT_MS, type PacerClock } from '../../src/enrichers/pacer.js';

/**
 * Simulated time: sleeps end when the test moves the clock to them, each `lateness()` after it was due, as
 * a timer fires late on a busy event loop.
 */
class SimulatedClock implements PacerClock {
  private time = 0;
  private readonly timers: { at: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  constructor(private readonly lateness: () => number = () => 0) {}

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = { at: this.time + ms + this.lateness(), resolve, reject };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers.splice(this.timers.indexOf(timer), 1);
        reject(new Error('aborted'));
      });
    });
  }

  /** Moves time on to `until`, firing every timer due by then in turn. */
  async runUntil(until: number): Promise<void> {
    for (;;) {
      await new Promise((r) => setImmediate(r));
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.resolve();
    }
    if (Number.isFinite(until)) this.time = Math.max(this.time, until);
  }

  runUntilIdle(): Promise<void> {
    return this.runUntil(Number.POSITIVE_INFINITY);
  }
}

/**
 * Starts waits in arrival order, `arrivalGaps` apart; each caller's request goes out `sendDelay(i)` after
 * it is let through. Returns when each was let through and when each request went out, in turn order.
 */
async function release(
  pacer: Pacer,
  clock: SimulatedClock,
  arrivalGaps: number[],
  sendDelay: (i: number) => number = () => 0,
): Promise<{ released: number[]; sent: number[] }> {
  const released: number[] = [];
  const sent: number[] = [];
  const waits: Promise<void>[] = [];
  for (const [i, gap] of arrivalGaps.entries()) {
    await clock.runUntil(clock.now() + gap);
    waits.push(
      pacer.wait().then(async (turn) => {
        released.push(clock.now());
        const delay = sendDelay(i);
        if (delay > 0) await clock.sleep(delay);
        sent.push(clock.now());
        turn.sent();
      }),
    );
    await new Promise((r) => setImmediate(r));
  }
  await clock.runUntilIdle();
  await Promise.all(waits);
  return { released, sent };
}

/** A deterministic stream of 0–`max` ms from a seed. */
function jitter(seed: number, max: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return ((state % 1000) / 1000) * max;
  };
}

describe('Pacer', () => {
  test('calls start one even spacing (and its margin) apart, in arrival order, however they arrive', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 50, max: 60_000 }),
        fc.constantFrom(0, 0.02, 0.05),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (requests, perMs, margin, arrivalGaps, seed) => {
          const clock = new SimulatedClock(jitter(seed, 100));
          const times = (await release(new Pacer(requests, perMs, margin, clock), clock, arrivalGaps))
            .released;
          expect(times).toHaveLength(arrivalGaps.length);
          const spacing = (perMs / requests) * (1 + margin);
          // So any `requests + 1` calls span at least the vendor's window and the margin.
          for (let i = 1; i < times.length; i++) {
            expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(spacing - 1e-6);
          }
          // And no caller waits longer than its turn: each starts as soon as spacing and timers allow.
          let arrival = 0;
          for (let i = 0; i < times.length; i++) {
            arrival += arrivalGaps[i]!;
            expect(times[i]!).toBeLessThanOrEqual(
              Math.max(arrival, (times[i - 1] ?? -Infinity) + spacing) + 100,
            );
          }
        },
      ),
      { numRuns: 200, seed: 20261127 },
    );
  });

  test('requests that go out late are still spaced by when they went out, not when they were let through', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 200, max: 10_000 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 2, maxLength: 80 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (requests, perMs, arrivalGaps, seed) => {
          const clock = new SimulatedClock(jitter(seed, 50));
          const late = jitter(seed + 1, SEND_WAIT_MS / 2);
          const { sent } = await release(new Pacer(requests, perMs, 0.05, clock), clock, arrivalGaps, late);
          const spacing = (perMs / requests) * 1.05;
          const order = [...sent].sort((a, b) => a - b);
          for (let i = 1; i < order.length; i++) {
            expect(order[i]! - order[i - 1]!).toBeGreaterThanOrEqual(spacing - 1e-6);
          }
        },
      ),
      { numRuns: 150, seed: 20261127 },
    );
  });

  test('a turn that never reports its request holds the next caller SEND_WAIT_MS at most', async () => {
    const clock = new SimulatedClock();
    const pacer = new Pacer(10, 1000, 0, clock);
    await pacer.wait(); // never reported: a request stuck before it reached the vendor
    let nextAt = -1;
    const next = pacer.wait().then((turn) => {
      nextAt = clock.now();
      turn.sent();
    });
    await clock.runUntilIdle();
    await next;
    expect(nextAt).toBe(SEND_WAIT_MS);
  });

  test('a paced call that fails before sending hands the next caller its turn at once', async () => {
    const clock = new SimulatedClock();
    const pacer = new Pacer(10, 1000, 0, clock);
    const failed = pacer.paced(() => Promise.reject(new Error('refused before sending')));
    let nextAt = -1;
    const next = pacer.paced(async (onSent) => {
      nextAt = clock.now();
      onSent();
    });
    await expect(failed).rejects.toThrow('refused before sending');
    await clock.runUntilIdle();
    await next;
    expect(nextAt).toBe(100);
  });

  test('a caller cancelled while it waits gives its turn to the next', async () => {
    const clock = new SimulatedClock();
    const pacer = new Pacer(1, 1000, 0, clock);
    (await pacer.wait()).sent();
    const controller = new AbortController();
    const cancelled = pacer.wait(controller.signal);
    let nextAt = -1;
    const next = pacer.wait().then((turn) => {
      nextAt = clock.now();
      turn.sent();
    });
    await new Promise((r) => setImmediate(r));
    controller.abort();
    await expect(cancelled).rejects.toThrow('aborted');
    await clock.runUntilIdle();
    await next;
    expect(nextAt).toBe(1000);
  });
});
