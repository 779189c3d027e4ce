import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from './server.js';
import { DailyQuota, SlidingWindow, sleep, stableInt, type ScriptedResponse } from './limits.js';
import type { Storm, StormAnswers } from './faults.js';

// VirusTotal v3, as ../shared/docs/vendor-apis.md §4 describes it: x-apikey auth, /files /domains
// /ip_addresses /urls (unpadded URL-safe base64 ids), the per-type last_analysis_stats key sets,
// {"error": {"code", "message"}} bodies, and a per-key sliding-window quota answering 429 QuotaExceededError.
// A file is one record reachable by its MD5, SHA-1 or SHA-256, answered under its SHA-256 id (§4.1).

export interface VirusTotalFakeOptions {
  keys?: string[];
  /** Requests per window per key. @default 4 per 60 s, the public tier */
  rateLimit?: { requests: number; windowMs: number };
  /** @default 500 */
  dailyQuota?: number;
  latencyMs?: number;
  /** Values the fake does not know (404 NotFoundError); everything else gets a stable invented verdict. */
  unknown?: Iterable<string>;
  /**
   * Files whose hashes belong together (EICAR's MD5, SHA-1 and SHA-256). A hash named nowhere here is a
   * file of its own, whose other two hashes the fake derives from it.
   */
  files?: Partial<FileHashes>[];
  /**
   * Fixed verdicts by IOC value. A file's verdict may be keyed by any of its hashes; every one of them
   * then reads it (and `unknown` likewise).
   */
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
  /** The file a hash names, as a lookup by that hash would answer it. */
  file(hash: string): FileHashes;
}

/** A file's three hashes, lowercase hex. */
export interface FileHashes {
  md5: string;
  sha1: string;
  sha256: string;
}

const HASH_KINDS = { 32: 'md5', 40: 'sha1', 64: 'sha256' } as const;

function hashKind(value: string): keyof FileHashes | undefined {
  return /^[0-9a-f]+$/i.test(value) ? HASH_KINDS[value.length as keyof typeof HASH_KINDS] : undefined;
}

/**
 * The files the fake knows, each reachable by any of its three hashes. A hash seen for the first time is a
 * new file; its other hashes are derived from it, so they are stable and lead back to the same record.
 */
class FileRecords {
  private readonly byHash = new Map<string, FileHashes>();

  add(given: Partial<FileHashes>): FileHashes {
    const known: string[] = [];
    for (const [kind, hash] of Object.entries(given)) {
      if (hash === undefined) continue;
      if (hashKind(hash) !== kind) throw new Error(`VirusTotal fake: ${hash} is not a valid ${kind}`);
      known.push(hash.toLowerCase());
    }
    const seed = known[0];
    if (seed === undefined) throw new Error('VirusTotal fake: a file needs at least one hash');
    const existing = this.byHash.get(seed);
    if (existing && known.every((hash) => hashesOf(existing).includes(hash))) return existing;
    const record: FileHashes = {
      md5: given.md5?.toLowerCase() ?? derive('md5', seed),
      sha1: given.sha1?.toLowerCase() ?? derive('sha1', seed),
      sha256: given.sha256?.toLowerCase() ?? derive('sha256', seed),
    };
    for (const hash of hashesOf(record)) {
      const before = this.byHash.get(hash);
      if (before && before.sha256 !== record.sha256) {
        throw new Error(`VirusTotal fake: ${hash} names two files (${before.sha256}, ${record.sha256})`);
      }
      this.byHash.set(hash, record);
    }
    return record;
  }

  get(hash: string): FileHashes {
    const kind = hashKind(hash);
    if (!kind) throw new Error(`VirusTotal fake: ${hash} is not a file hash`);
    return this.byHash.get(hash.toLowerCase()) ?? this.add({ [kind]: hash });
  }
}

function hashesOf(file: FileHashes): string[] {
  return [file.md5, file.sha1, file.sha256];
}

function derive(kind: keyof FileHashes, seed: string): string {
  return createHash(kind).update(`virustotal-fake:${seed}`).digest('hex');
}

const ERROR = (status: number, code: string, message: string) => ({
  status,
  body: { error: { code, message } },
});

/** The quota answer, with no Retry-After or rate-limit header: VirusTotal documents none (§4.4). */
const QUOTA_EXCEEDED = ERROR(429, 'QuotaExceededError', 'Quota exceeded');

export async function startVirusTotalFake(options: VirusTotalFakeOptions = {}): Promise<VirusTotalFake> {
  const keys = new Set(options.keys ?? ['vt-test-key']);
  const limit = options.rateLimit ?? { requests: 4, windowMs: 60_000 };
  const window = new SlidingWindow(limit.requests, limit.windowMs);
  const daily = new DailyQuota(options.dailyQuota ?? 500);
  const files = new FileRecords();
  for (const given of options.files ?? []) files.add(given);
  // Files named by a fixed verdict or as unknown are records before any lookup, so that their derived
  // hashes lead to them too.
  const unknown = new Set(options.unknown ?? []);
  const verdicts = new Map<string, NonNullable<VirusTotalFakeOptions['verdicts']>[string]>();
  for (const [value, verdict] of Object.entries(options.verdicts ?? {})) {
    const id = hashKind(value) ? files.get(value).sha256 : value;
    if (verdicts.has(id)) throw new Error(`VirusTotal fake: two verdicts for ${id}`);
    verdicts.set(id, verdict);
  }
  for (const value of [...unknown]) if (hashKind(value)) unknown.add(files.get(value).sha256);
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
      return reply(res, QUOTA_EXCEEDED);
    }
    const stormAnswers: StormAnswers = {
      tooManyRequests: () => reply(res, QUOTA_EXCEEDED),
      unavailable: () => reply(res, ERROR(503, 'TransientError', 'Transient error, try again later')),
      serverError: () => reply(res, ERROR(504, 'DeadlineExceededError', 'Deadline exceeded')),
    };
    if (options.storm && (await options.storm.apply(req.path, req.query, res, stormAnswers))) return;
    const next = scripted.shift();
    if (next) {
      counts.scripted++;
      if (next.delayMs) await sleep(next.delayMs);
      return reply(res, { status: next.status, body: next.body ?? {}, headers: next.headers ?? {} });
    }
    const match = /^\/api\/v3\/(files|domains|ip_addresses|urls)\/([^/]+)$/.exec(req.path);
    if (!match) return reply(res, ERROR(404, 'NotFoundError', `Resource not found`));
    const [, collection, rawId] = match as unknown as [string, string, string];
    const asked = decodeURIComponent(rawId);
    const resolved = resolveId(collection, asked, files);
    if ('error' in resolved) return reply(res, resolved.error);
    if (unknown.has(resolved.value)) {
      counts.notFound++;
      // The message names the object as asked for, not by its SHA-256.
      const named = collection === 'urls' ? resolved.value : asked;
      return reply(res, ERROR(404, 'NotFoundError', `${describe(collection)} "${named}" not found`));
    }
    counts.ok++;
    return reply(res, {
      status: 200,
      body: document(collection, resolved.value, verdicts.get(resolved.value), resolved.file),
    });
  };

  const server = await startFakeServer(handler);
  return {
    ...server,
    counts,
    script: (...responses) => scripted.push(...responses),
    revoke: (key) => keys.delete(key),
    file: (hash) => files.get(hash),
  };
}

/** The record a request names: its `value` is what the fake keys verdicts by (a file's SHA-256). */
function resolveId(
  collection: string,
  id: string,
  files: FileRecords,
): { value: string; file?: FileHashes } | { error: { status: number; body: unknown } } {
  if (collection === 'files') {
    if (!hashKind(id)) return { error: ERROR(400, 'InvalidArgumentError', `Invalid file hash: ${id}`) };
    const file = files.get(id);
    return { value: file.sha256, file };
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
  file?: FileHashes,
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
  if (file) {
    Object.assign(attributes, {
      md5: file.md5,
      sha1: file.sha1,
      sha256: file.sha256,
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
