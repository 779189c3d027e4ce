import type { Response } from 'got';
import { certificateProblem, redactUrl } from './client.js';

// HTTP outcomes as typed errors. Retries belong to Temporal: activities turn these into
// ApplicationFailures whose type the workflow's retry policy names (see FAILURE_TYPES).

/** Who was called and which config key holds its credentials, for messages that name the fix. */
export interface CallSite {
  /** `VirusTotal`, `MISP (source misp-main)`… */
  service: string;
  /** Config key of the credential, e.g. `enrichers.virustotal.apiKey`; never the credential itself. */
  credentialKey?: string | undefined;
  /** Config key of the CA bundle, named when the server's certificate does not verify. */
  caFileKey?: string | undefined;
}

export class HttpFailure extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    /** Whether trying again later can succeed. */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 429 or a vendor quota answer: try again after `retryAfterMs`. */
export class RateLimitedError extends HttpFailure {
  constructor(
    message: string,
    status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message, status, true);
  }
}

/** 401/403: the credential is wrong or revoked; retrying cannot help. */
export class AuthRejectedError extends HttpFailure {
  constructor(message: string, status: number) {
    super(message, status, false);
  }
}

/** 5xx, timeouts, connection failures: retry with backoff. */
export class UnavailableError extends HttpFailure {
  constructor(message: string, status?: number) {
    super(message, status, true);
  }
}

/** Any other 4xx: the request itself is wrong; retrying the same request cannot help. */
export class RequestRejectedError extends HttpFailure {
  constructor(message: string, status: number) {
    super(message, status, false);
  }
}

/**
 * Turns a non-2xx response into the matching failure. 404 is not a failure here: whether "not found"
 * is a normal answer (an IOC unknown to a vendor) is the caller's call, so it gets a RequestRejectedError
 * only if it asks for one.
 */
export function failureFor(
  site: CallSite,
  response: Pick<Response, 'statusCode' | 'headers' | 'url'>,
  now = Date.now(),
): HttpFailure {
  const status = response.statusCode;
  const where = `${site.service} answered ${status} for ${redactUrl(response.url)}`;
  if (status === 429) {
    const retryAfterMs = retryHintMs(response.headers, now);
    return new RateLimitedError(
      `${where}: rate limited${retryAfterMs !== undefined ? `, retry after ${Math.ceil(retryAfterMs / 1000)}s` : ''}`,
      status,
      retryAfterMs,
    );
  }
  if (status === 401 || status === 403) {
    return new AuthRejectedError(
      `${site.service} rejected the credentials (${status})${site.credentialKey ? ` (config: ${site.credentialKey})` : ''}`,
      status,
    );
  }
  if (status >= 500) return new UnavailableError(`${where}: server error`, status);
  return new RequestRejectedError(`${where}: request rejected`, status);
}

/** A transport error (timeout, refused connection, TLS) as a retryable failure, without the request's secrets. */
export function transportFailure(site: CallSite, err: unknown): HttpFailure {
  const code = (err as { code?: string }).code;
  const name = err instanceof Error ? err.name : 'Error';
  if (name === 'TimeoutError' || code === 'ETIMEDOUT')
    return new UnavailableError(`${site.service} timed out`);
  const certificate = certificateProblem(code);
  if (certificate) {
    const fix = certificate.caFileHelps
      ? `; if its CA is private, trust it with a PEM bundle${site.caFileKey ? ` (config: ${site.caFileKey})` : ''}`
      : '';
    return new UnavailableError(`${site.service}: TLS ${certificate.what} (${code})${fix}`);
  }
  return new UnavailableError(`${site.service} unreachable (${code ?? name})`);
}

/**
 * How long a 429 asks the caller to wait, from the first hint it carries: the standard `Retry-After`,
 * else MISP's `X-Rate-Limit-Reset` (seconds until its window resets, vendor-apis.md §1.6), else
 * CrowdStrike's `X-Ratelimit-Retryafter` (the epoch second to retry at, §9.8). AbuseIPDB's
 * `X-RateLimit-Reset` (no hyphen in "RateLimit") is an epoch, not a delay; it comes with `Retry-After`.
 */
export function retryHintMs(
  headers: Record<string, string | string[] | undefined>,
  now = Date.now(),
): number | undefined {
  const retryAfter = parseRetryAfter(headers['retry-after'], now);
  if (retryAfter !== undefined) return retryAfter;
  const reset = wholeSeconds(headers['x-rate-limit-reset']);
  if (reset !== undefined) return reset * 1000;
  const at = wholeSeconds(headers['x-ratelimit-retryafter']);
  return at === undefined ? undefined : Math.max(0, at * 1000 - now);
}

function wholeSeconds(value: string | string[] | undefined): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  return text && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** `Retry-After` as delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
