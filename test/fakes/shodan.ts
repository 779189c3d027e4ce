import type { ServerResponse } from 'node:http';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from './server.js';
import { SlidingWindow, sleep, stableInt, type ScriptedResponse } from './limits.js';
import type { Storm, StormAnswers } from './faults.js';

// Shodan host lookup, per ../shared/docs/vendor-apis.md §5: the key only as the `key` query parameter,
// /shodan/host/{ip}, 404 {"error": "No information available for that IP."} for unknown hosts, an nginx
// HTML page or JSON for a bad key, and ≥1 s spacing per key (429 with the SDK's wording).

export interface ShodanFakeOptions {
  keys?: string[];
  /** @default 1 request per 1000 ms */
  rateLimit?: { requests: number; windowMs: number };
  latencyMs?: number;
  unknown?: Iterable<string>;
  /** Fixed host documents by IP (merged over an invented one). */
  hosts?: Record<string, Partial<{ ports: number[]; tags: string[]; vulns: string[]; org: string }>>;
  /** Bad keys get the nginx HTML page instead of JSON. */
  htmlUnauthorized?: boolean;
  /** Faults applied to requests within the rate limit. */
  storm?: Storm;
}

export interface ShodanFake extends FakeServer {
  counts: { ok: number; notFound: number; rateLimited: number; unauthorized: number; scripted: number };
  script(...responses: ScriptedResponse[]): void;
}

/** The SDK's wording of Shodan's rate-limit error; Shodan documents no retry header (§5.3). */
const RATE_LIMITED = {
  error:
    'Request rate limit reached (1 request/ second). Please wait a second before trying again and slow down your API calls.',
};

export async function startShodanFake(options: ShodanFakeOptions = {}): Promise<ShodanFake> {
  const keys = new Set(options.keys ?? ['shodan-test-key']);
  const limit = options.rateLimit ?? { requests: 1, windowMs: 1000 };
  const window = new SlidingWindow(limit.requests, limit.windowMs);
  const unknown = new Set(options.unknown ?? []);
  const scripted: ScriptedResponse[] = [];
  const counts = { ok: 0, notFound: 0, rateLimited: 0, unauthorized: 0, scripted: 0 };

  const handler = async (req: RecordedRequest, res: ServerResponse) => {
    if (options.latencyMs) await sleep(options.latencyMs);
    const key = req.query.get('key');
    if (!key || !keys.has(key)) {
      counts.unauthorized++;
      if (options.htmlUnauthorized) {
        res.writeHead(401, { 'content-type': 'text/html' });
        return res.end(
          '<html><head><title>401 Unauthorized</title></head><body><center><h1>401 Unauthorized</h1></center><hr><center>nginx</center></body></html>',
        );
      }
      return sendJson(res, 401, { error: 'Please provide a valid API key' });
    }
    if (!window.take(key, req.at)) {
      counts.rateLimited++;
      return sendJson(res, 429, RATE_LIMITED);
    }
    // Shodan's 5xx bodies are not documented: its {"error": "…"} shape, as for every other error.
    const stormAnswers: StormAnswers = {
      tooManyRequests: () => sendJson(res, 429, RATE_LIMITED),
      unavailable: () => sendJson(res, 503, { error: 'The service is temporarily unavailable.' }),
      serverError: () => sendJson(res, 500, { error: 'An internal error occurred.' }),
    };
    if (options.storm && (await options.storm.apply(req.path, req.query, res, stormAnswers))) return;
    const next = scripted.shift();
    if (next) {
      counts.scripted++;
      if (next.delayMs) await sleep(next.delayMs);
      return sendJson(res, next.status, next.body ?? {}, next.headers);
    }
    const match = /^\/shodan\/host\/([^/]+)$/.exec(req.path);
    if (!match || req.method !== 'GET') return sendJson(res, 404, { error: 'Not found' });
    const ip = decodeURIComponent(match[1]!);
    if (!/^[0-9a-f.:]+$/i.test(ip)) return sendJson(res, 400, { error: 'Invalid IP' });
    if (unknown.has(ip)) {
      counts.notFound++;
      return sendJson(res, 404, { error: 'No information available for that IP.' });
    }
    counts.ok++;
    return sendJson(res, 200, host(ip, req.query.get('minify') === 'true', options.hosts?.[ip]));
  };

  const server = await startFakeServer(handler);
  return { ...server, counts, script: (...responses) => scripted.push(...responses) };
}

function host(ip: string, minify: boolean, fixed?: NonNullable<ShodanFakeOptions['hosts']>[string]) {
  const ports = fixed?.ports ?? [22, 80, 443, 8080].filter((_, i) => stableInt(`${ip}:p${i}`, 2) === 1);
  const doc: Record<string, unknown> = {
    ip_str: ip,
    ports,
    hostnames: [],
    domains: [],
    org: fixed?.org ?? 'Example Hosting',
    isp: 'Example Hosting LLC',
    asn: 'AS64500',
    country_code: 'NL',
    os: null,
    last_update: '2026-11-01T12:34:56.123456',
  };
  // Optional keys are absent, not empty, when Shodan has nothing: clients must cope.
  const tags = fixed?.tags ?? (stableInt(`${ip}:t`, 4) === 0 ? ['vpn'] : undefined);
  if (tags) doc.tags = tags;
  const vulns = fixed?.vulns ?? (stableInt(`${ip}:v`, 5) === 0 ? ['CVE-2023-38408'] : undefined);
  if (vulns) doc.vulns = vulns;
  if (!minify) doc.data = ports.map((port) => ({ port, transport: 'tcp', ip_str: ip }));
  return doc;
}
