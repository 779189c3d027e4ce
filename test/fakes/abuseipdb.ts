import type { ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from './server.js';
import { DailyQuota, SlidingWindow, sleep, stableInt, type ScriptedResponse } from './limits.js';
import type { Storm, StormAnswers } from './faults.js';

// AbuseIPDB v2 CHECK, per ../shared/docs/vendor-apis.md §6: `Key` header, HTML errors unless
// `Accept: application/json`, 422 with source.parameter for a bad address or maxAgeInDays, a daily quota
// per key with X-RateLimit-* headers always and Retry-After + X-RateLimit-Reset on 429, null-valued fields.

export interface AbuseIpdbFakeOptions {
  keys?: string[];
  /** @default 1000 */
  dailyQuota?: number;
  /** An optional short-window limit (the free plan has none documented). */
  rateLimit?: { requests: number; windowMs: number };
  latencyMs?: number;
  scores?: Record<
    string,
    Partial<{
      abuseConfidenceScore: number;
      totalReports: number;
      numDistinctUsers: number;
      isTor: boolean;
      isWhitelisted: boolean | null;
    }>
  >;
  /** Seconds until the daily reset, sent as Retry-After on a spent quota. @default 29241 */
  resetInSeconds?: number;
  /** Faults applied to requests within the limits (they count against the quota). */
  storm?: Storm;
}

export interface AbuseIpdbFake extends FakeServer {
  counts: { ok: number; rateLimited: number; unauthorized: number; invalid: number; scripted: number };
  script(...responses: ScriptedResponse[]): void;
}

/**
 * 4 or 6 for an address AbuseIPDB accepts, 0 otherwise: a real parser, so `1:2` fails and `::ffff:1.2.3.4`
 * passes. A zone index (`fe80::1%eth0`), which node's parser allows, names an interface of the asking
 * host, not an address anyone could have reported.
 */
function ipVersion(ip: string): number {
  return ip.includes('%') ? 0 : isIP(ip);
}

export async function startAbuseIpdbFake(options: AbuseIpdbFakeOptions = {}): Promise<AbuseIpdbFake> {
  const keys = new Set(options.keys ?? ['abuseipdb-test-key']);
  const quota = new DailyQuota(options.dailyQuota ?? 1000);
  const window = options.rateLimit
    ? new SlidingWindow(options.rateLimit.requests, options.rateLimit.windowMs)
    : undefined;
  const resetIn = options.resetInSeconds ?? 29_241;
  const scripted: ScriptedResponse[] = [];
  const counts = { ok: 0, rateLimited: 0, unauthorized: 0, invalid: 0, scripted: 0 };

  const handler = async (req: RecordedRequest, res: ServerResponse) => {
    if (options.latencyMs) await sleep(options.latencyMs);
    const wantsJson = (req.headers.accept ?? '').includes('application/json');
    const fail = (status: number, detail: string, extra: Record<string, string> = {}, parameter?: string) => {
      if (!wantsJson) {
        res.writeHead(status, { 'content-type': 'text/html; charset=UTF-8', ...extra });
        return res.end(`<!DOCTYPE html><html><body><h1>${status}</h1><p>${detail}</p></body></html>`);
      }
      return sendJson(
        res,
        status,
        { errors: [{ detail, status, ...(parameter ? { source: { parameter } } : {}) }] },
        extra,
      );
    };
    const key = req.headers.key;
    if (typeof key !== 'string' || !keys.has(key)) {
      counts.unauthorized++;
      return fail(
        401,
        'Authentication failed. Your API key is either missing, incorrect, or revoked. Note: The APIv2 key differs from the APIv1 key.',
      );
    }
    if (req.path !== '/api/v2/check' || req.method !== 'GET') return fail(404, 'Not found');
    const limitHeaders = () => ({
      'X-RateLimit-Limit': String(quota.limit),
      'X-RateLimit-Remaining': String(quota.remaining(key)),
    });
    // Every 429 carries the rate-limit headers, Retry-After and X-RateLimit-Reset (§6.3).
    const tooManyRequests = (detail: string, retryAfterSeconds: number) =>
      fail(429, detail, {
        ...limitHeaders(),
        'Retry-After': String(retryAfterSeconds),
        'X-RateLimit-Reset': String(Math.floor(Date.now() / 1000) + retryAfterSeconds),
      });
    if (window && !window.take(key, req.at)) {
      counts.rateLimited++;
      return tooManyRequests('Too many requests.', Math.ceil(window.retryAfterMs(key) / 1000));
    }
    if (!quota.take(key)) {
      counts.rateLimited++;
      return tooManyRequests(
        `Daily rate limit of ${quota.limit} requests exceeded for this endpoint. See headers for additional details.`,
        resetIn,
      );
    }
    const stormAnswers: StormAnswers = {
      tooManyRequests: (retryAfterSeconds) => tooManyRequests('Too many requests.', retryAfterSeconds),
      unavailable: () => fail(503, 'Service Unavailable.'),
      serverError: () => fail(500, 'Server Error.'),
    };
    if (options.storm && (await options.storm.apply(req.path, req.query, res, stormAnswers))) return;
    const next = scripted.shift();
    if (next) {
      counts.scripted++;
      if (next.delayMs) await sleep(next.delayMs);
      return sendJson(res, next.status, next.body ?? {}, { ...limitHeaders(), ...next.headers });
    }
    const ip = req.query.get('ipAddress') ?? '';
    const version = ipVersion(ip);
    if (version === 0) {
      counts.invalid++;
      return fail(
        422,
        'The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).',
        limitHeaders(),
        'ipAddress',
      );
    }
    const maxAge = Number(req.query.get('maxAgeInDays') ?? '30');
    if (!Number.isInteger(maxAge) || maxAge < 1 || maxAge > 365) {
      counts.invalid++;
      return fail(422, 'The max age in days must be between 1 and 365.', limitHeaders(), 'maxAgeInDays');
    }
    counts.ok++;
    const fixed = options.scores?.[ip] ?? {};
    const score = fixed.abuseConfidenceScore ?? stableInt(`${ip}:a`, 101);
    const reports = fixed.totalReports ?? (score === 0 ? 0 : 1 + stableInt(`${ip}:r`, 50));
    return sendJson(
      res,
      200,
      {
        data: {
          ipAddress: ip,
          isPublic: true,
          ipVersion: version,
          isWhitelisted: fixed.isWhitelisted ?? null,
          abuseConfidenceScore: score,
          countryCode: 'NL',
          usageType: 'Data Center/Web Hosting/Transit',
          isp: 'Example Hosting LLC',
          domain: null,
          hostnames: [],
          isTor: fixed.isTor ?? false,
          totalReports: reports,
          numDistinctUsers: fixed.numDistinctUsers ?? Math.min(reports, 1 + stableInt(`${ip}:u`, 20)),
          lastReportedAt: reports ? '2026-11-20T10:00:00+00:00' : null,
          ...(req.query.has('verbose') ? { countryName: 'Netherlands', reports: [] } : {}),
        },
      },
      limitHeaders(),
    );
  };

  const server = await startFakeServer(handler);
  return { ...server, counts, script: (...responses) => scripted.push(...responses) };
}
