import { createHash, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { sendJson, startFakeServer, text, type FakeServer, type RecordedRequest } from './server.js';
import { SlidingWindow, sleep, type ScriptedResponse } from './limits.js';

// CrowdStrike Falcon IOC Management (vendor-apis.md §9): /oauth2/token (form, 201, X-Cs-Region; wrong
// secret 403), Bearer tokens with expiry (401 envelope), the meta/resources/errors envelope, create with
// per-indicator validation (type/value format, action/severity/platforms enums, applied_globally xor
// host_groups, source length, ≤2000) and uniqueness per type+value (the duplicate error shape), PATCH by id,
// DELETE by repeated ids, search with minimal FQL (`field:'v'`, `+`, `,`), `limit` ≤ 2000, and a per-minute
// request budget with X-Ratelimit-* headers and X-Ratelimit-Retryafter (epoch) on 429. Indicators carry
// `created_by`/`modified_by`: the API client whose token made the call, as Falcon records it. A
// region-mismatch mode plays the cloud a tenant is not in (`tenantRegion`).

export interface FalconFakeOptions {
  clients: Record<string, string>;
  /** The cloud this fake plays (`X-Cs-Region` on its answers). @default us-1 */
  region?: string;
  /**
   * Region-mismatch mode: the clients' CID lives in this other cloud. The token call still answers 201,
   * naming that cloud in `X-Cs-Region` (as Falcon's token endpoint does); every IOC call answers 401.
   */
  tenantRegion?: string;
  /** The fake of another cloud of the same Falcon account: tokens it issued are good here too. */
  account?: FalconFake;
  /** @default 1799 */
  expiresInS?: number;
  /** Requests per window (a minute unless `windowMs` says otherwise). @default 6000 */
  perMinute?: number;
  /** The sliding window's length (tests shorten it). @default 60000 */
  windowMs?: number;
  /**
   * Also name the moment the budget is back (`X-Ratelimit-Retryafter`, epoch seconds) on the response that
   * spends it, not only on a 429. Documented only on 429 (vendor-apis.md §9.8), hence off by default.
   */
  retryAfterWhenSpent?: boolean;
  /** @default 2000 */
  maxIndicators?: number;
}

export interface FalconIndicator {
  id: string;
  type: string;
  value: string;
  action: string;
  severity?: string;
  platforms: string[];
  applied_globally?: boolean;
  host_groups?: string[];
  source?: string;
  description?: string;
  tags?: string[];
  expiration?: string;
  expired: boolean;
  deleted: boolean;
  created_on: string;
  created_by: string;
  modified_on: string;
  modified_by: string;
}

export interface FalconFake extends FakeServer {
  indicators: Map<string, FalconIndicator>;
  /** Values the fake refuses per indicator (as an allowlisted hash would be). */
  rejectValues: Set<string>;
  /**
   * Values created between a lookup and a create (to provoke the duplicate path), each by the client id
   * it maps to: another integration, or this client's own concurrent delivery.
   */
  raceValues: Map<string, string>;
  /** Puts an indicator in place as `createdBy` made it (an analyst's, another integration's). */
  plant(type: string, value: string, createdBy: string, fields?: Partial<FalconIndicator>): FalconIndicator;
  script(...responses: ScriptedResponse[]): void;
  tokensIssued: number;
  revokeTokens(): void;
  /** The client a live token of this fake was issued to. */
  clientOf(token: string): string | undefined;
  /** Indicator by type and value. */
  find(type: string, value: string): FalconIndicator | undefined;
}

const TYPES = new Set(['sha256', 'md5', 'domain', 'ipv4', 'ipv6']);
const ACTIONS = new Set(['no_action', 'allow', 'prevent_no_ui', 'detect', 'prevent']);
const SEVERITIES = new Set(['informational', 'low', 'medium', 'high', 'critical']);
const PLATFORMS = new Set(['windows', 'mac', 'linux']);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

const idFor = (type: string, value: string) => createHash('sha256').update(`${type}:${value}`).digest('hex');

export async function startCrowdStrikeFake(options: FalconFakeOptions): Promise<FalconFake> {
  /** Token → its expiry and the client it was issued to. */
  const tokens = new Map<string, { expiresAt: number; client: string }>();
  const indicators = new Map<string, FalconIndicator>();
  const rejectValues = new Set<string>();
  const raceValues = new Map<string, string>();
  const scripted: ScriptedResponse[] = [];
  const perMinute = options.perMinute ?? 6000;
  const windowMs = options.windowMs ?? 60_000;
  const window = new SlidingWindow(perMinute, windowMs);
  const state = { tokensIssued: 0 };
  /** Arrival times of rate-limited calls, for X-Ratelimit-Remaining. */
  let calls: number[] = [];

  const envelope = (resources: unknown[] | null, errors: { code: number; message: string }[] = []) => ({
    meta: { query_time: 0.001, powered_by: 'ioc-manager', trace_id: randomUUID() },
    resources,
    errors,
  });

  const handler = async (req: RecordedRequest, res: ServerResponse) => {
    const limits = () => {
      const remaining = Math.max(0, perMinute - countRecent(req.at));
      return {
        'x-cs-region': options.region ?? 'us-1',
        'x-ratelimit-limit': String(perMinute),
        'x-ratelimit-remaining': String(remaining),
        ...(remaining === 0 && options.retryAfterWhenSpent && calls[0] !== undefined
          ? { 'x-ratelimit-retryafter': String(Math.ceil((calls[0] + windowMs) / 1000)) }
          : {}),
      };
    };
    const reply = (status: number, body: unknown, extra: Record<string, string> = {}) =>
      sendJson(res, status, body, { ...limits(), ...extra });
    if (req.path === '/oauth2/token') {
      const form = new URLSearchParams(req.body);
      if (
        req.method !== 'POST' ||
        !String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')
      )
        return reply(400, envelope(null, [{ code: 400, message: 'invalid request' }]));
      const client = form.get('client_id') ?? '';
      if (options.clients[client] === undefined || options.clients[client] !== form.get('client_secret'))
        return reply(403, envelope(null, [{ code: 403, message: 'access denied, invalid client' }]));
      const token = `cs.${randomUUID()}`;
      const expiresIn = options.expiresInS ?? 1799;
      tokens.set(token, { expiresAt: Date.now() + expiresIn * 1000, client });
      state.tokensIssued++;
      return reply(
        201,
        { access_token: token, token_type: 'bearer', expires_in: expiresIn },
        options.tenantRegion ? { 'x-cs-region': options.tenantRegion } : {},
      );
    }
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const own = bearer ? tokens.get(bearer) : undefined;
    const client =
      own && own.expiresAt > Date.now() ? own.client : bearer && options.account?.clientOf(bearer);
    if (!client || options.tenantRegion)
      return reply(401, envelope(null, [{ code: 401, message: 'access denied, invalid bearer token' }]));
    if (!window.take('cid', req.at)) {
      const retryAt = Math.ceil((req.at + window.retryAfterMs('cid', req.at)) / 1000);
      return reply(429, envelope(null, [{ code: 429, message: 'Too Many Requests' }]), {
        'x-ratelimit-retryafter': String(retryAt),
        'x-ratelimit-remaining': '0',
      });
    }
    calls.push(req.at);
    const next = scripted.shift();
    if (next) {
      if (next.delayMs) await sleep(next.delayMs);
      return reply(
        next.status,
        next.body ?? envelope(null, [{ code: next.status, message: 'scripted' }]),
        next.headers,
      );
    }
    expireDue();
    if (req.path === '/iocs/combined/indicator/v1' && req.method === 'GET') {
      const limit = Number(req.query.get('limit') ?? 100);
      const offset = Number(req.query.get('offset') ?? 0);
      if (!(limit >= 1 && limit <= 2000) || offset > 10_000)
        return reply(400, envelope(null, [{ code: 400, message: 'invalid limit or offset' }]));
      const filter = parseFql(req.query.get('filter') ?? '');
      if (!filter) return reply(400, envelope(null, [{ code: 400, message: 'invalid filter' }]));
      const all = [...indicators.values()].filter(filter);
      return reply(200, {
        ...envelope(all.slice(offset, offset + limit)),
        meta: { pagination: { offset, limit, total: all.length } },
      });
    }
    if (req.path !== '/iocs/entities/indicators/v1')
      return reply(404, envelope(null, [{ code: 404, message: 'not found' }]));
    if (req.method === 'DELETE') {
      const ids = req.query.getAll('ids');
      const gone = ids.filter((id) => indicators.delete(id));
      if (gone.length === 0 && ids.length > 0)
        return reply(404, envelope([], [{ code: 404, message: 'indicators not found' }]));
      return reply(200, envelope(gone));
    }
    if (!String(req.headers['content-type']).startsWith('application/json'))
      return reply(415, envelope(null, [{ code: 415, message: 'unsupported media type' }]));
    const body = JSON.parse(req.body || '{}') as { indicators?: Record<string, unknown>[] };
    const list = body.indicators ?? [];
    if (list.length === 0 || list.length > (options.maxIndicators ?? 2000))
      return reply(
        400,
        envelope(null, [{ code: 400, message: 'between 1 and 2000 indicators per request' }]),
      );
    const resources: unknown[] = [];
    let failed = 0;
    const now = new Date().toISOString();
    if (req.method === 'POST') {
      const seen = new Set<string>();
      for (const input of list) {
        const type = String(input.type);
        const value = String(input.value);
        const racer = raceValues.get(value);
        if (racer !== undefined && TYPES.has(type)) {
          raceValues.delete(value);
          const id = idFor(type, value);
          indicators.set(id, { ...toIndicator(input, id, now, racer), source: racer });
        }
        const problems = validate(input, true);
        const key = `${type}:${value}`;
        if (problems.length === 0 && (indicators.has(idFor(type, value)) || seen.has(key)))
          problems.push(`Duplicate type: '${type}' and value: '${value}' combination.`);
        if (problems.length > 0) {
          failed++;
          resources.push({ type, value, message_type: 'error', message: problems.join('; ') });
          continue;
        }
        seen.add(key);
        const created = toIndicator(input, idFor(type, value), now, client);
        indicators.set(created.id, created);
        resources.push(created);
      }
      return failed === 0
        ? reply(201, envelope(resources))
        : reply(400, envelope(resources, [{ code: 400, message: `${failed} indicator(s) failed` }]));
    }
    if (req.method === 'PATCH') {
      for (const input of list) {
        const id = String(input.id);
        const current = indicators.get(id);
        const problems = current ? validate({ ...current, ...input }, false) : ['indicator not found'];
        if (problems.length > 0 || !current) {
          failed++;
          resources.push({ id, message_type: 'error', message: problems.join('; ') });
          continue;
        }
        const updated: FalconIndicator = {
          ...current,
          ...(input as Partial<FalconIndicator>),
          id,
          created_by: current.created_by,
          modified_on: now,
          modified_by: client,
        };
        updated.expired = updated.expiration !== undefined && Date.parse(updated.expiration) <= Date.now();
        // An expired indicator's action is no_action (vendor-apis.md §9.5), whatever the PATCH asked for.
        if (updated.expired) updated.action = 'no_action';
        indicators.set(id, updated);
        resources.push(updated);
      }
      return failed === 0
        ? reply(200, envelope(resources))
        : reply(400, envelope(resources, [{ code: 400, message: `${failed} indicator(s) failed` }]));
    }
    return reply(405, envelope(null, [{ code: 405, message: 'method not allowed' }]));
  };

  function countRecent(now: number): number {
    calls = calls.filter((t) => now - t < windowMs);
    return calls.length;
  }

  function expireDue(): void {
    for (const i of indicators.values()) {
      if (i.expiration && Date.parse(i.expiration) <= Date.now() && !i.expired) {
        i.expired = true;
        i.action = 'no_action';
      }
    }
  }

  function validate(input: Record<string, unknown>, creating: boolean): string[] {
    const out: string[] = [];
    const type = String(input.type);
    const value = String(input.value);
    if (creating) {
      if (!TYPES.has(type)) out.push(`invalid type: ${type}`);
      else if (!validValue(type, value)) out.push(`invalid ${type} value`);
    }
    if (rejectValues.has(value)) out.push(`value ${value} is on an exclusion list`);
    if (!ACTIONS.has(String(input.action))) out.push(`invalid action: ${String(input.action)}`);
    const severity = typeof input.severity === 'string' ? input.severity.toLowerCase() : undefined;
    if ((input.action === 'detect' || input.action === 'prevent') && severity === undefined)
      out.push('severity is required for detect and prevent');
    if (severity !== undefined && !SEVERITIES.has(severity)) out.push(`invalid severity: ${severity}`);
    const platforms = input.platforms;
    if (
      !Array.isArray(platforms) ||
      platforms.length === 0 ||
      !platforms.every((p) => PLATFORMS.has(String(p)))
    )
      out.push('invalid platforms');
    const global = input.applied_globally === true;
    const groups = Array.isArray(input.host_groups) && input.host_groups.length > 0;
    if (global === groups) out.push('exactly one of applied_globally and host_groups is required');
    if (
      input.source !== undefined &&
      (typeof input.source !== 'string' || input.source.length < 1 || input.source.length > 256)
    )
      out.push('source must be 1-256 characters');
    if (input.expiration !== undefined && !RFC3339.test(text(input.expiration)))
      out.push('invalid expiration');
    return out;
  }

  const server = await startFakeServer(handler);
  return {
    ...server,
    indicators,
    rejectValues,
    raceValues,
    plant(type, value, createdBy, fields = {}) {
      const now = new Date().toISOString();
      const planted: FalconIndicator = {
        ...toIndicator(
          {
            type,
            value,
            action: 'detect',
            severity: 'medium',
            platforms: ['windows'],
            applied_globally: true,
          },
          idFor(type, value),
          now,
          createdBy,
        ),
        source: createdBy,
        ...fields,
      };
      indicators.set(planted.id, planted);
      return planted;
    },
    script: (...r) => scripted.push(...r),
    get tokensIssued() {
      return state.tokensIssued;
    },
    revokeTokens: () => tokens.clear(),
    clientOf(token) {
      const issued = tokens.get(token);
      return issued && issued.expiresAt > Date.now() ? issued.client : undefined;
    },
    find: (type, value) => indicators.get(idFor(type, value)),
  };
}

function toIndicator(
  input: Record<string, unknown>,
  id: string,
  now: string,
  client: string,
): FalconIndicator {
  return {
    ...(input as Partial<FalconIndicator>),
    id,
    type: String(input.type),
    value: String(input.value),
    action: String(input.action),
    platforms: (input.platforms as string[] | undefined) ?? [],
    expired: false,
    deleted: false,
    created_on: now,
    created_by: client,
    modified_on: now,
    modified_by: client,
  };
}

function validValue(type: string, value: string): boolean {
  switch (type) {
    case 'md5':
      return /^[0-9a-f]{32}$/i.test(value);
    case 'sha256':
      return /^[0-9a-f]{64}$/i.test(value);
    case 'ipv4':
      return isIP(value) === 4;
    case 'ipv6':
      return isIP(value) === 6;
    default:
      return value.length <= 200 && /^[a-z0-9.-]+$/i.test(value);
  }
}

/** Minimal FQL: terms `field:'value'` joined by `+` (and) and `,` (or); quotes escaped with backslash. */
function parseFql(filter: string): ((i: FalconIndicator) => boolean) | undefined {
  if (filter === '') return () => true;
  const alternatives: [string, string][][] = [[]];
  const term = /^([a-z_.]+):(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/;
  let rest = filter;
  while (rest.length > 0) {
    const m = term.exec(rest);
    if (!m) return undefined;
    alternatives[alternatives.length - 1]!.push([m[1]!, (m[2] ?? m[3]!).replace(/\\(.)/g, '$1')]);
    rest = rest.slice(m[0].length);
    if (rest.startsWith('+')) rest = rest.slice(1);
    else if (rest.startsWith(',')) {
      rest = rest.slice(1);
      alternatives.push([]);
    } else if (rest.length > 0) return undefined;
  }
  return (i) =>
    alternatives.some((all) =>
      all.every(
        ([field, v]) =>
          String((i as unknown as Record<string, unknown>)[field]).toLowerCase() === v.toLowerCase(),
      ),
    );
}
