import type { ServerResponse } from 'node:http';

/** Switchable faults every source fake understands; set them on the fake's `faults` object between calls. */
export interface Faults {
  /** Answer every request with this status (and a vendor-shaped error body where the fake has one). */
  status?: number | undefined;
  /** Wait this long before answering. */
  delayMs?: number | undefined;
  /** Serve an HTML error page with status 200 instead of the real body. */
  html?: boolean | undefined;
  /** Send half the body, then cut the connection. */
  truncate?: boolean | undefined;
  /** Send the body in chunks of this many bytes with a pause between them (a slow or distant server). */
  trickle?: { chunkBytes: number; delayMs: number } | undefined;
}

export const HTML_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>Back soon</body></html>\n';

/** Applies the delay and the faults that replace the answer; returns true when the request is answered. */
export async function applyFaults(
  faults: Faults,
  res: ServerResponse,
  errorBody?: (status: number) => string,
): Promise<boolean> {
  if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));
  if (faults.status) {
    res.writeHead(faults.status, { 'content-type': errorBody ? 'application/json' : 'text/plain' });
    res.end(errorBody ? errorBody(faults.status) : `error ${faults.status}`);
    return true;
  }
  if (faults.html) {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(HTML_PAGE);
    return true;
  }
  return false;
}

/** Sends a body, or half of it and a reset connection when `truncate` is on. */
export function sendBody(
  res: ServerResponse,
  faults: Faults,
  status: number,
  body: string,
  headers: Record<string, string>,
): void {
  const bytes = Buffer.from(body, 'utf8');
  if (faults.truncate) {
    res.writeHead(status, { ...headers, 'content-length': String(bytes.length) });
    res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
    setTimeout(() => res.destroy(), 10);
    return;
  }
  res.writeHead(status, { ...headers, 'content-length': String(bytes.length) });
  const trickle = faults.trickle;
  if (!trickle) {
    res.end(bytes);
    return;
  }
  void (async () => {
    for (let at = 0; at < bytes.length && !res.destroyed; at += trickle.chunkBytes) {
      res.write(bytes.subarray(at, at + trickle.chunkBytes));
      await new Promise((r) => setTimeout(r, trickle.delayMs));
    }
    res.end();
  })();
}

/** What a storm did to one vendor request, for the fake's tally. */
export type StormOutcome = 'serverError' | 'hang' | 'burst429';

export interface StormOptions {
  /** Share of requests answered 5xx. */
  serverErrorRate: number;
  /** Share of requests held past the client's timeout, then cut. */
  hangRate: number;
  hangMs: number;
  /** A 429 burst starts with this probability and answers the next `burstLength` requests. */
  burstRate: number;
  burstLength: number;
  /** Seconds a vendor that sends a retry hint with its 429 (AbuseIPDB) asks for; the others send none. */
  retryAfterSeconds: number;
  /** Requests this picks always answer 503: the vendor is down for them whatever the retry. */
  alwaysDown?: (path: string, query: URLSearchParams) => boolean;
  /** Seed of the deterministic choice, so a failing run can be replayed. */
  seed: number;
}

/**
 * How a vendor fake answers the faults a storm picks, each the way that vendor answers it (vendor-apis.md):
 * its own error body, and a retry hint on the 429 only where the vendor sends one.
 */
export interface StormAnswers {
  /** The vendor's 429. */
  tooManyRequests(retryAfterSeconds: number): void;
  /** The vendor's 503: what `alwaysDown` requests get, and half the storm's 5xx. */
  unavailable(): void;
  /** Another 5xx the vendor answers (500, or VirusTotal's 504): the other half. */
  serverError(): void;
}

/**
 * A vendor having a bad day, as the vendor fakes apply it after charging their rate limit (a vendor counts
 * a request it fails): some requests get a 5xx, some hang past the client's timeout, and now and then a
 * burst of 429s. The fake answers each in its vendor's shape. Deterministic for a given seed and request
 * order.
 */
export class Storm {
  readonly tally: Record<StormOutcome | 'alwaysDown', number> = {
    serverError: 0,
    hang: 0,
    burst429: 0,
    alwaysDown: 0,
  };
  private state: number;
  private burstLeft = 0;

  constructor(readonly options: StormOptions) {
    this.state = options.seed >>> 0 || 1;
  }

  /**
   * Answers the request with a fault through the vendor's `answers` and returns true, or returns false to
   * let the fake answer it.
   */
  async apply(
    path: string,
    query: URLSearchParams,
    res: ServerResponse,
    answers: StormAnswers,
  ): Promise<boolean> {
    const o = this.options;
    if (o.alwaysDown?.(path, query)) {
      this.tally.alwaysDown++;
      answers.unavailable();
      return true;
    }
    if (this.burstLeft === 0 && this.next() < o.burstRate) this.burstLeft = o.burstLength;
    if (this.burstLeft > 0) {
      this.burstLeft--;
      this.tally.burst429++;
      answers.tooManyRequests(o.retryAfterSeconds);
      return true;
    }
    const roll = this.next();
    if (roll < o.serverErrorRate) {
      this.tally.serverError++;
      if (roll < o.serverErrorRate / 2) answers.serverError();
      else answers.unavailable();
      return true;
    }
    if (roll < o.serverErrorRate + o.hangRate) {
      this.tally.hang++;
      await new Promise((r) => setTimeout(r, o.hangMs));
      res.destroy();
      return true;
    }
    return false;
  }

  /** mulberry32: small, fast and good enough to spread faults. */
  private next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
