import type { ServerResponse } from 'node:http';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from './server.js';
import { DailyQuota, SlidingWindow, sleep, stableInt, type ScriptedResponse } from './limits.js';
import type { Storm } from './faults.js';

// VirusTotal v3, as ../shared/docs/vendor-apis.md §4 describes it: x-apikey auth, /files /domains
// /ip_addresses /urls (unpadded URL-safe base64 ids), the per-type last_analysis_stats key sets,
// {"error": {"code", "message"}} bodies, and a per-key sliding-window quota answering 429 QuotaExceededError.

export interface VirusTotalFakeOptions {
  keys?: string[];
  /** Requests per window per key. @default 4 per 60 s, the public tier */
  rateLimit?: { requests: number; windowMs: number };
  /** @default 500 */
  dailyQuota?: number;
  latencyMs?: number;
  /** Values the fake does not know (404 NotFoundError); everything else gets a stable invented verdict. */
  unknown?: Iterable<string>;
  /** Fixed verdicts by IOC value (a hash in any of its three forms resolves to its sha256 record). */
  verdicts?: Record<
    string,
    {
      malicious: number;
      suspicious?: number;
      harmless?: number;
      undetected?: number;
      reputation?: number;
      tags?: string[];
      label?: string;
    }
  >;
  /** Faults applied to requests that passed the quota (they count against it, as at VirusTotal). */
  storm?: Storm;
}

export interface VirusTotalFake extends FakeServer {
  /** Answered lookups by status. */
  counts: { ok: number; notFound: number; rateLimited: number; unauthorized: number; scripted: number };
  /** Queue canned responses for the next lookups. */
  script(...responses: ScriptedResponse[]): void;
  /** Revoke a key: later requests with it get 401 WrongCredentialsError. */
  revoke(key: string): void;
}

const ERROR = (status: number, code: string, message: string) => ({
  status,
  body: { error: { code, message } },
});

export async function startVirusTotalFake(options: VirusTotalFakeOptions = {}): Promise<VirusTotalFake> {
  const keys = new Set(options.keys ?? ['vt-test-key']);
  const limit = options.rateLimit ?? { requests: 4, windowMs: 60_000 };
  const window = new SlidingWindow(limit.requests, limit.windowMs);
  const daily = new DailyQuota(options.dailyQuota ?? 500);
  const unknown = new Set(options.unknown ?? []);
  const scripted: ScriptedResponse[] = [];
  const counts = { ok: 0, notFound: 0, rateLimited: 0, unauthorized: 0, scripted: 0 };

  const handler = async (req: RecordedRequest, res: ServerResponse) => {
    if (options.latencyMs) await sleep(options.latencyMs);
    const key = req.headers['x-apikey'];
    if (typeof key !== 'string' || key === '') {
      counts.unauthorized++;
      return reply(res, ERROR(401, 'AuthenticationRequiredError', 'X-Apikey header is missing'));
    }
    if (!keys.has(key)) {
      counts.unauthorized++;
      return reply(res, ERROR(401, 'WrongCredentialsError', 'Wrong API key'));
    }
    if (req.method !== 'GET') return reply(res, ERROR(405, 'BadRequestError', 'Method not allowed'));
    // Quota is charged before anything else: VirusTotal counts every authenticated request.
    if (!window.take(key, req.at) || !daily.take(key)) {
      counts.rateLimited++;
      return reply(res, ERROR(429, 'QuotaExceededError', 'Quota exceeded'));
    }
    if (options.storm && (await options.storm.apply(req.path, req.query, res))) return;
    const next = scripted.shift();
    if (next) {
      counts.scripted++;
      if (next.delayMs) await sleep(next.delayMs);
      return reply(res, { status: next.status, body: next.body ?? {}, headers: next.headers ?? {} });
    }
    const match = /^\/api\/v3\/(files|domains|ip_addresses|urls)\/([^/]+)$/.exec(req.path);
    if (!match) return reply(res, ERROR(404, 'NotFoundError', `Resource not found`));
    const [, collection, rawId] = match as unknown as [string, string, string];
    const resolved = resolveId(collection, decodeURIComponent(rawId));
    if ('error' in resolved) return reply(res, resolved.error);
    if (unknown.has(resolved.value)) {
      counts.notFound++;
      return reply(res, ERROR(404, 'NotFoundError', `${describe(collection)} "${resolved.value}" not found`));
    }
    counts.ok++;
    return reply(res, {
      status: 200,
      body: document(collection, resolved.value, options.verdicts?.[resolved.value]),
    });
  };

  const server = await startFakeServer(handler);
  return {
    ...server,
    counts,
    script: (...responses) => scripted.push(...responses),
    revoke: (key) => keys.delete(key),
  };
}

function resolveId(
  collection: string,
  id: string,
): { value: string } | { error: { status: number; body: unknown } } {
  if (collection === 'files') {
    if (!/^([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/i.test(id)) {
      return { error: ERROR(400, 'InvalidArgumentError', `Invalid file hash: ${id}`) };
    }
    return { value: id.toLowerCase() };
  }
  if (collection === 'urls') {
    // Padded or standard base64 does not name a URL VirusTotal knows.
    if (/[=+/]/.test(id)) return { error: ERROR(404, 'NotFoundError', `URL "${id}" not found`) };
    return { value: Buffer.from(id, 'base64url').toString('utf8') };
  }
  return { value: id };
}

function describe(collection: string): string {
  return (
    { files: 'File', domains: 'Domain', ip_addresses: 'IP address', urls: 'URL' }[collection] ?? 'Resource'
  );
}

function document(
  collection: string,
  value: string,
  fixed?: NonNullable<VirusTotalFakeOptions['verdicts']>[string],
) {
  const malicious = fixed?.malicious ?? stableInt(`${value}:m`, 20);
  const suspicious = fixed?.suspicious ?? stableInt(`${value}:s`, 3);
  const harmless = fixed?.harmless ?? 60 - malicious;
  const undetected = fixed?.undetected ?? 10;
  const type = { files: 'file', domains: 'domain', ip_addresses: 'ip_address', urls: 'url' }[collection]!;
  const stats: Record<string, number> = { harmless, malicious, suspicious, undetected, timeout: 0 };
  if (type === 'file') Object.assign(stats, { 'confirmed-timeout': 0, failure: 0, 'type-unsupported': 4 });
  const attributes: Record<string, unknown> = {
    last_analysis_stats: stats,
    last_analysis_date: 1_790_000_000,
    reputation: fixed?.reputation ?? -malicious,
    tags: fixed?.tags ?? [],
    total_votes: { harmless: 0, malicious: 1 },
  };
  if (type === 'file') {
    Object.assign(attributes, {
      sha256: value.padEnd(64, '0').slice(0, 64),
      size: 1024,
      first_submission_date: 1_700_000_000,
    });
    if (fixed?.label) attributes.popular_threat_classification = { suggested_threat_label: fixed.label };
  }
  if (type === 'ip_address') Object.assign(attributes, { asn: 64500, as_owner: 'EXAMPLE-AS', country: 'NL' });
  return {
    data: {
      id: type === 'url' ? 'u'.repeat(64) : value,
      type,
      links: { self: `/api/v3/${collection}/${value}` },
      attributes,
    },
  };
}

function reply(
  res: ServerResponse,
  r: { status: number; body: unknown; headers?: Record<string, string> },
): void {
  sendJson(res, r.status, r.body, r.headers);
}
