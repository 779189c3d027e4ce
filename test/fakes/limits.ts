import { createHash } from 'node:crypto';

/** A sliding-window rate limit per key, as vendors enforce it: at most `requests` in any `windowMs`. */
export class SlidingWindow {
  private readonly calls = new Map<string, number[]>();
  constructor(
    readonly requests: number,
    readonly windowMs: number,
  ) {}

  /**
   * Records a call at `now`; false (and not recorded) when it would exceed the limit. Vendors count at
   * their edge, when a request arrives: the fakes pass its arrival time, not the time after their
   * simulated processing latency.
   */
  take(key: string, now = Date.now()): boolean {
    const recent = (this.calls.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (recent.length >= this.requests) {
      this.calls.set(key, recent);
      return false;
    }
    recent.push(now);
    this.calls.set(key, recent);
    return true;
  }

  /** Milliseconds until the oldest call leaves the window. */
  retryAfterMs(key: string, now = Date.now()): number {
    const oldest = (this.calls.get(key) ?? [])[0];
    return oldest === undefined ? 0 : Math.max(0, oldest + this.windowMs - now);
  }
}

/** A per-key daily counter (the fakes' day never rolls over: tests are short). */
export class DailyQuota {
  private readonly used = new Map<string, number>();
  constructor(readonly limit: number) {}

  take(key: string): boolean {
    const n = this.used.get(key) ?? 0;
    if (n >= this.limit) return false;
    this.used.set(key, n + 1);
    return true;
  }

  remaining(key: string): number {
    return Math.max(0, this.limit - (this.used.get(key) ?? 0));
  }
}

/** A canned answer a test queues up for the next matching requests (a 503, a 429 with Retry-After…). */
export interface ScriptedResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Hold the response this long first (to exceed a client timeout). */
  delayMs?: number;
}

/** Deterministic pseudo-random integer in [0, n) from a string: fakes invent stable data for any IOC. */
export function stableInt(seed: string, n: number): number {
  return createHash('sha256').update(seed).digest().readUInt32BE(0) % n;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
