import { describe, expect, test } from 'vitest';
import { failureFor, RateLimitedError } from '../../src/http/failures.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const site = { service: 'MISP (source misp-main)' };

/** The failure a 429 with these headers becomes. */
function rateLimited(headers: Record<string, string>): RateLimitedError {
  const failure = failureFor(
    site,
    { statusCode: 429, headers, url: 'https://misp.example/attributes/restSearch' },
    NOW,
  );
  expect(failure).toBeInstanceOf(RateLimitedError);
  return failure as RateLimitedError;
}

describe('failureFor on a 429', () => {
  test('Retry-After in seconds is the delay', () => {
    expect(rateLimited({ 'retry-after': '30' }).retryAfterMs).toBe(30_000);
  });

  test('Retry-After as an HTTP date is the time until then', () => {
    const at = new Date(NOW + 90_000).toUTCString();
    expect(rateLimited({ 'retry-after': at }).retryAfterMs).toBe(90_000);
  });

  test("MISP's X-Rate-Limit-Reset is the seconds until its window resets", () => {
    const failure = rateLimited({
      'x-rate-limit-limit': '10',
      'x-rate-limit-remaining': '0',
      'x-rate-limit-reset': '754',
    });
    expect(failure.retryAfterMs).toBe(754_000);
    expect(failure.message).toContain('retry after 754s');
  });

  test("CrowdStrike's X-Ratelimit-Retryafter is the epoch second to retry at", () => {
    const at = String(Math.floor(NOW / 1000) + 42);
    expect(rateLimited({ 'x-ratelimit-retryafter': at }).retryAfterMs).toBe(42_000);
    // A moment already past means "now", not a negative wait.
    const past = String(Math.floor(NOW / 1000) - 5);
    expect(rateLimited({ 'x-ratelimit-retryafter': past }).retryAfterMs).toBe(0);
  });

  test('Retry-After wins over the vendor headers', () => {
    const failure = rateLimited({
      'retry-after': '7',
      'x-rate-limit-reset': '754',
      'x-ratelimit-retryafter': String(Math.floor(NOW / 1000) + 42),
    });
    expect(failure.retryAfterMs).toBe(7_000);
  });

  test('no hint, or an unreadable one, leaves the delay to the retry policy', () => {
    expect(rateLimited({}).retryAfterMs).toBeUndefined();
    expect(rateLimited({ 'x-rate-limit-reset': 'soon' }).retryAfterMs).toBeUndefined();
    // AbuseIPDB's X-RateLimit-Reset is an epoch, not a delay: not read as one.
    expect(
      rateLimited({ 'x-ratelimit-reset': String(Math.floor(NOW / 1000) + 60) }).retryAfterMs,
    ).toBeUndefined();
  });
});
