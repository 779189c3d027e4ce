import type { ServerResponse } from 'node:http';
import { sendJson, startFakeServer, text, type FakeServer, type RecordedRequest } from './server.js';
import { EntraTokens, type EntraOptions } from './entra.js';
import { SlidingWindow, sleep, type ScriptedResponse } from './limits.js';

// Microsoft Sentinel threat-intelligence upload (vendor-apis.md §8) with its Entra ID token endpoint: the
// current STIX-objects API (`stixobjects`, api-version 2024-02-01-preview) and the legacy upload-indicators
// API (`indicators`, 2022-07-01); Bearer tokens, known workspace (404), reserved sourcesystem, ≤100
// objects, 100 requests per minute per client (429 with the wait in the message, optionally also in
// Retry-After), STIX 2.1 checks
// per object answered as `{"errors":[{recordIndex, errorMessages}]}` with 200, empty body when all valid.
// Objects are kept by (sourcesystem, id), newest `modified` wins, with a version count.

export interface SentinelFakeOptions extends EntraOptions {
  workspaceId: string;
  /** @default 100 per 60 s */
  rateLimit?: { requests: number; windowMs: number };
  /** @default 100 */
  maxObjects?: number;
  /**
   * Also send `Retry-After` (seconds) with a 429: Microsoft documents the wait only in the message, but an
   * Azure gateway in front of the API may add the header. @default false
   */
  retryAfterHeader?: boolean;
}

export interface StoredIndicator {
  object: Record<string, unknown>;
  /** Uploads of this id (each writes a row in Sentinel's table). */
  versions: number;
}

export interface SentinelFake extends FakeServer {
  entra: EntraTokens;
  /** Latest object per `<sourcesystem>|<id>`. */
  indicators: Map<string, StoredIndicator>;
  /** Values (as they appear in the pattern) whose objects the fake refuses, per object. */
  rejectValues: Set<string>;
  script(...responses: ScriptedResponse[]): void;
  /** Indicators neither revoked nor past valid_until. */
  active(): Record<string, unknown>[];
  uploads: number;
  /** Store the next N uploads, then answer 500 anyway (the answer is lost after the work is done). */
  storeThenFail: number;
  /** A `sentinel` sink's settings pointing at this fake, signing in as one of its clients. */
  sinkConfig(clientId: string): Record<string, unknown>;
}

const ID = /^indicator--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
/** One comparison of STIX patterning: `[object-type:path = 'literal']` with \\ and \' escapes. */
const PATTERN = /^\[[a-z0-9-]+:[A-Za-z0-9_.'-]+ = '(?:[^'\\]|\\['\\])*'\]$/;
const APIS = {
  'threat-intelligence-stix-objects:upload': { version: '2024-02-01-preview', field: 'stixobjects' },
  'threatintelligenceindicators:upload': { version: '2022-07-01', field: 'indicators' },
} as const;

export async function startSentinelFake(options: SentinelFakeOptions): Promise<SentinelFake> {
  const entra = new EntraTokens(options);
  const limit = options.rateLimit ?? { requests: 100, windowMs: 60_000 };
  const window = new SlidingWindow(limit.requests, limit.windowMs);
  const indicators = new Map<string, StoredIndicator>();
  const rejectValues = new Set<string>();
  const scripted: ScriptedResponse[] = [];
  const state = { uploads: 0, storeThenFail: 0 };

  const handler = async (req: RecordedRequest, res: ServerResponse) => {
    if (entra.handle(req, res)) return;
    const m = /^\/workspaces\/([^/]+)\/([^/]+)$/.exec(req.path);
    const api = m ? APIS[m[2] as keyof typeof APIS] : undefined;
    if (!m || !api || req.method !== 'POST') return sendJson(res, 404, { error: { code: 'NotFound' } });
    if (!entra.valid(req.headers.authorization))
      return sendJson(res, 401, {
        error: { code: 'InvalidAuthenticationToken', message: 'The access token is missing or invalid.' },
      });
    if (req.query.get('api-version') !== api.version)
      return sendJson(res, 400, { error: { code: 'InvalidApiVersionParameter', message: 'api-version' } });
    if (m[1] !== options.workspaceId)
      return sendJson(res, 404, {
        error: { code: 'WorkspaceNotFound', message: `Workspace ${m[1]} not found` },
      });
    if (!window.take('client', req.at)) {
      const seconds = Math.ceil(window.retryAfterMs('client') / 1000);
      return sendJson(
        res,
        429,
        { statusCode: 429, message: `Rate limit is exceeded. Try again in ${seconds} seconds.` },
        options.retryAfterHeader ? { 'retry-after': String(seconds) } : {},
      );
    }
    const next = scripted.shift();
    if (next) {
      if (next.delayMs) await sleep(next.delayMs);
      return sendJson(
        res,
        next.status,
        next.body ?? { error: { code: 'InternalServerError' } },
        next.headers ?? {},
      );
    }
    if (!String(req.headers['content-type']).startsWith('application/json'))
      return sendJson(res, 415, { error: { code: 'UnsupportedMediaType' } });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body) as Record<string, unknown>;
    } catch {
      return sendJson(res, 400, { error: { code: 'BadRequest', message: 'Invalid JSON' } });
    }
    const source = body.sourcesystem;
    if (typeof source !== 'string' || source === '' || source === 'Microsoft Sentinel')
      return sendJson(res, 400, { error: { code: 'BadRequest', message: 'Invalid sourcesystem' } });
    const objects = body[api.field];
    if (!Array.isArray(objects) || objects.length === 0)
      return sendJson(res, 400, { error: { code: 'BadRequest', message: `${api.field} is required` } });
    if (objects.length > (options.maxObjects ?? 100))
      return sendJson(res, 400, {
        error: { code: 'BadRequest', message: 'Too many objects in one request' },
      });
    state.uploads++;
    const errors: { recordIndex: number; errorMessages: string[] }[] = [];
    objects.forEach((raw, recordIndex) => {
      const problems = checkIndicator(raw, rejectValues);
      if (problems.length > 0) return errors.push({ recordIndex, errorMessages: problems });
      const object = raw as Record<string, unknown>;
      const key = `${source}|${text(object.id)}`;
      const old = indicators.get(key);
      // Sentinel shows the newest row; an older `modified` does not replace it.
      if (!old || text(object.modified) >= text(old.object.modified))
        indicators.set(key, { object, versions: (old?.versions ?? 0) + 1 });
      else old.versions++;
    });
    if (state.storeThenFail > 0) {
      state.storeThenFail--;
      return sendJson(res, 500, { error: { code: 'InternalServerError', message: 'Internal error' } });
    }
    if (errors.length === 0) {
      res.writeHead(200);
      return res.end();
    }
    return sendJson(res, 200, { errors });
  };

  const server = await startFakeServer(handler);
  return {
    ...server,
    entra,
    indicators,
    rejectValues,
    script: (...r) => scripted.push(...r),
    active: () =>
      [...indicators.values()]
        .map((s) => s.object)
        .filter(
          (o) =>
            o.revoked !== true &&
            (o.valid_until === undefined || Date.parse(text(o.valid_until)) > Date.now()),
        ),
    get uploads() {
      return state.uploads;
    },
    get storeThenFail() {
      return state.storeThenFail;
    },
    set storeThenFail(n: number) {
      state.storeThenFail = n;
    },
    sinkConfig: (clientId) => ({
      type: 'sentinel',
      tenantId: options.tenantId,
      clientId,
      clientSecret: options.clients[clientId],
      workspaceId: options.workspaceId,
      authorityHost: server.url,
      apiBaseUrl: server.url,
    }),
  };
}

/** The STIX 2.1 rules Sentinel enforces on an indicator; one message per broken rule. */
function checkIndicator(raw: unknown, rejectValues: Set<string>): string[] {
  if (typeof raw !== 'object' || raw === null) return ['Error for Property=object: not an object.'];
  const o = raw as Record<string, unknown>;
  const out: string[] = [];
  const missing = (p: string) => `Error for Property=${p}: Required property is missing. Actual value: NULL.`;
  for (const p of ['type', 'id', 'created', 'modified', 'pattern', 'pattern_type', 'valid_from'])
    if (o[p] === undefined || o[p] === null) out.push(missing(p));
  if (o.type !== undefined && o.type !== 'indicator')
    out.push(`Error for Property=type: unsupported type ${text(o.type)}.`);
  if (o.id !== undefined && !ID.test(text(o.id))) out.push('Error for Property=id: not indicator--<UUID>.');
  for (const p of ['created', 'modified', 'valid_from', 'valid_until'])
    if (o[p] !== undefined && !TIME.test(text(o[p])))
      out.push(`Error for Property=${p}: not an RFC 3339 UTC time.`);
  if (o.pattern !== undefined && !PATTERN.test(text(o.pattern)))
    out.push('Error for Property=pattern: invalid STIX pattern.');
  if (o.pattern_type !== undefined && o.pattern_type !== 'stix')
    out.push('Error for Property=pattern_type: must be stix.');
  if (o.spec_version !== undefined && o.spec_version !== '2.1' && o.spec_version !== '2.0')
    out.push('Error for Property=spec_version: must be 2.0 or 2.1.');
  if (o.valid_until !== undefined && Date.parse(text(o.valid_until)) <= Date.parse(text(o.valid_from)))
    out.push('Error for Property=valid_until: must be later than valid_from.');
  if (
    o.confidence !== undefined &&
    !(Number.isInteger(o.confidence) && (o.confidence as number) >= 0 && (o.confidence as number) <= 100)
  )
    out.push('Error for Property=confidence: must be an integer 0-100.');
  if (o.modified !== undefined && o.created !== undefined && text(o.modified) < text(o.created))
    out.push('Error for Property=modified: must not be earlier than created.');
  if (o.labels !== undefined && !(Array.isArray(o.labels) && o.labels.every((l) => typeof l === 'string')))
    out.push('Error for Property=labels: must be a list of strings.');
  if (o.revoked !== undefined && typeof o.revoked !== 'boolean')
    out.push('Error for Property=revoked: must be a boolean.');
  const value = /'((?:[^'\\]|\\.)*)'\]$/.exec(text(o.pattern ?? ''))?.[1];
  if (value !== undefined && rejectValues.has(value))
    out.push(`Error for Property=pattern: value ${value} is not allowed.`);
  return out;
}
