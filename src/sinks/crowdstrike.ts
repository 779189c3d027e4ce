import { z } from 'zod';
import { CROWDSTRIKE_CLOUDS, type SinkConfig } from '../config/index.js';
import { AuthRejectedError, RateLimitedError, RequestRejectedError, retryHintMs } from '../http/failures.js';
import type { JsonResponse, RequestJsonOptions } from '../http/request.js';
import type { DeliveryItem } from '../store/index.js';
import { asError, chunk } from './batches.js';
import type { SinkDeps } from './index.js';
import { withBearer, type TokenCache, type TokenSource } from './oauth-token.js';
import { parseBody, sinkHttp } from './settings.js';
import type { SendResult, Sink, SinkContext } from './types.js';

type FalconConfig = Extract<SinkConfig, { type: 'crowdstrike' }>;

/** An indicator Falcon holds for an IOC, and whether this sink's API client created it. */
interface Held {
  id: string;
  ours: boolean;
  createdBy: string;
  expired: boolean;
  /** Epoch ms of its `expiration`; undefined when it has none. */
  expiresAt: number | undefined;
}

// CrowdStrike Falcon IOC Management (vendor-apis.md §9). An IOC is unique per type + value in a CID and a
// second create is refused, not merged: so every batch first looks up what exists, PATCHes those by id
// and creates the rest; a create refused as a duplicate (created meanwhile) is looked up again and PATCHed.
// That makes a resent batch converge on the same indicators. Withdrawal deletes (or expires) them.
// The CID is shared with analysts and other integrations: the sink changes and deletes only indicators its
// own API client created (`created_by` = clientId); another creator's indicator for the same IOC is left
// as it is and the upsert settles as rejected, saying so.
// Expiry: an upsert whose IOC has expired by the time it goes out is sent as the configured withdrawal,
// never as a live indicator without an end. Falcon documents no way to clear or push back an expiration
// that has passed (the indicator turns `no_action`, `expired`), so an indicator of ours that is expired,
// or carries an expiration the upsert has none for, is deleted and created afresh.
// The token answer names the tenant's cloud (`X-Cs-Region`); without an explicit baseUrl the IOC calls follow it.
// Every answer reports the CID's remaining request budget; once it is spent, the next request waits for
// it to come back rather than spend itself on a 429.

/** iocflow type → Falcon type; the others (url, sha1, cidr, email) Falcon IOC management does not take. */
const FALCON_TYPES: Record<string, string> = {
  ipv4: 'ipv4',
  ipv6: 'ipv6',
  domain: 'domain',
  md5: 'md5',
  sha256: 'sha256',
};

const indicatorResource = z.object({
  id: z.string().optional(),
  created_by: z.string().optional(),
  expired: z.boolean().optional(),
  expiration: z.string().nullish(),
  type: z.string().optional(),
  value: z.string().optional(),
  message_type: z.string().optional(),
  message: z.string().optional(),
});
const envelope = z.object({
  resources: z.array(z.unknown()).nullable().optional(),
  errors: z
    .array(z.object({ code: z.number().optional(), message: z.string() }).passthrough())
    .nullable()
    .optional(),
});

/**
 * Values per lookup filter and ids per DELETE: both travel in the URL, which servers cap with the request
 * headers (Node at 16 KB: 500 ids of 64 hex are about 35 KB). 100 stay under 8 KB.
 */
const URL_CHUNK = 100;

/** Falcon counts a CID's requests over a sliding minute: a spent budget has refilled a minute later. */
const RATE_WINDOW_MS = 60_000;
/**
 * The longest wait for the budget spent inside one activity attempt. A longer one is handed to Temporal as
 * the retry delay instead, so the activity never sits silent near its heartbeat timeout.
 */
const MAX_INLINE_WAIT_MS = 30_000;

/**
 * When the next request may go out, from a response's rate-limit headers: undefined while budget is left.
 * Spent (`X-Ratelimit-Remaining: 0`) means at `X-Ratelimit-Retryafter` (epoch seconds) when Falcon names
 * it, else a whole window from `now`; a 429 means the same, whatever Remaining says.
 */
export function falconResumeAt(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  now: number,
): number | undefined {
  const header = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const remaining = header('x-ratelimit-remaining');
  const spent =
    status === 429 || (remaining !== undefined && remaining.trim() !== '' && Number(remaining) <= 0);
  if (!spent) return undefined;
  return now + (retryHintMs(headers, now) ?? RATE_WINDOW_MS);
}

/**
 * Score → Falcon action. Hashes at or above `preventAt` are blocked (`prevent`); everything else that
 * reached the threshold raises a detection (`detect`): Falcon blocks only hashes.
 */
export function falconAction(
  item: Pick<DeliveryItem, 'type' | 'score'>,
  preventAt: number | undefined,
): string {
  const hash = item.type === 'md5' || item.type === 'sha256';
  return hash && preventAt !== undefined && item.score >= preventAt ? 'prevent' : 'detect';
}

type FalconCloud = keyof typeof CROWDSTRIKE_CLOUDS;

export function crowdstrikeSink(
  name: string,
  config: FalconConfig,
  deps: SinkDeps & {
    tokens: TokenCache;
    /** Base URL of each cloud (tests put fakes there). @default CROWDSTRIKE_CLOUDS */
    clouds?: Readonly<Record<FalconCloud, string>>;
  },
): Sink {
  const http = sinkHttp(name, 'CrowdStrike Falcon', config, deps.http, 'clientSecret');
  const now = deps.now ?? Date.now;
  const clouds = deps.clouds ?? CROWDSTRIKE_CLOUDS;
  const trim = (url: string) => url.replace(/\/+$/, '');
  const base = trim(config.baseUrl ?? clouds[config.cloud]);
  const isCloud = (region: string): region is FalconCloud => Object.hasOwn(clouds, region);
  /** The cloud the configuration points at: `cloud`, or the one whose URL `baseUrl` is. */
  const configuredCloud: string =
    config.baseUrl === undefined
      ? config.cloud
      : ((Object.keys(clouds) as FalconCloud[]).find((c) => trim(clouds[c]) === base) ?? config.cloud);
  let warnedOfRegion = false;
  const token: TokenSource = {
    key: `${base}/oauth2/token|${config.clientId}|${config.memberCid ?? ''}`,
    tokenUrl: `${base}/oauth2/token`,
    form: {
      client_id: config.clientId,
      client_secret: config.clientSecret,
      ...(config.memberCid ? { member_cid: config.memberCid } : {}),
    },
    success: [201],
  };
  const indicatorsPath = '/iocs/entities/indicators/v1';
  const keyOf = (type: string, value: string) => `${type}:${value.toLowerCase()}`;
  const clientId = config.clientId.toLowerCase();
  const foreign = (held: Held) =>
    `CrowdStrike: Falcon already holds this IOC from another creator (${held.createdBy}); left alone`;

  /** Until when the CID's request budget is spent, as the last response told (0: not spent). */
  let resumeAt = 0;

  /**
   * Holds the next request until the budget Falcon reported spent is back, rather than spending a request
   * on a 429; a wait longer than MAX_INLINE_WAIT_MS fails the batch with that delay for Temporal to keep.
   */
  async function awaitBudget(signal: AbortSignal | undefined): Promise<void> {
    const waitMs = resumeAt - now();
    if (waitMs <= 0) return;
    if (waitMs > MAX_INLINE_WAIT_MS) {
      throw new RateLimitedError(
        `${http.site.service} request budget spent (X-Ratelimit-Remaining 0), retry after ${Math.ceil(waitMs / 1000)}s`,
        429,
        waitMs,
      );
    }
    await delay(waitMs, signal);
  }

  /** The tenant's cloud as the token answer named it (`X-Cs-Region`), lower case. */
  async function tenantRegion(signal: AbortSignal | undefined): Promise<string | undefined> {
    const header = (await deps.tokens.issued(http, token, signal)).headers['x-cs-region'];
    const region = Array.isArray(header) ? header[0] : header;
    return region?.trim().toLowerCase() || undefined;
  }

  /**
   * Where the IOC calls go. As the SDKs do, a token answer naming another known cloud than the configured
   * one moves them there (the token stays good), unless `baseUrl` was set: that is kept as given.
   */
  async function apiBase(signal: AbortSignal | undefined): Promise<string> {
    if (config.baseUrl !== undefined) return base;
    const region = await tenantRegion(signal);
    if (region === undefined || region === configuredCloud || !isCloud(region)) return base;
    if (!warnedOfRegion) {
      warnedOfRegion = true;
      deps.warn?.(
        `${http.site.service}: the token answer says the tenant is in cloud ${region} (X-Cs-Region), not ${configuredCloud}; using ${trim(clouds[region])}. Set ${http.key('cloud')}: ${region}`,
      );
    }
    return trim(clouds[region]);
  }

  /**
   * A 401 that remains after a fresh token, where the token answer named another cloud than the one called:
   * the credentials are likely fine and the API address is what is wrong, so say that.
   */
  async function explainRegion(err: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    if (!(err instanceof AuthRejectedError) || err.status !== 401) return err;
    const region = await tenantRegion(signal).catch(() => undefined);
    // Without a baseUrl the calls already went to a known cloud the token answer named.
    if (
      region === undefined ||
      region === configuredCloud ||
      (config.baseUrl === undefined && isCloud(region))
    )
      return err;
    const fix = isCloud(region)
      ? `set ${http.key('cloud')}: ${region}${config.baseUrl !== undefined ? ` and remove ${http.key('baseUrl')}, or point ${http.key('baseUrl')} at ${trim(clouds[region])}` : ''}`
      : `set ${http.key('baseUrl')} to that cloud's API URL`;
    return new AuthRejectedError(
      `${http.site.service}: ${base} refused the token (401), and the token answer says the tenant is in cloud ${region} (X-Cs-Region), not ${configuredCloud}: ${fix}`,
      401,
    );
  }

  async function call(
    path: string,
    options: RequestJsonOptions,
    context: SinkContext,
  ): Promise<JsonResponse> {
    await awaitBudget(context.signal);
    const url = `${await apiBase(context.signal)}${path}`;
    const response = await withBearer(deps.tokens, http, token, context.signal, (authorization) =>
      http.call(url, {
        ...options,
        headers: { authorization, ...options.headers },
        signal: context.signal,
        answers: (s) => (s >= 200 && s < 300) || s === 400 || s === 404 || s === 429,
      }),
    ).catch(async (err: unknown) => {
      throw await explainRegion(err, context.signal);
    });
    const until = falconResumeAt(response.status, response.headers, now());
    if (until !== undefined) resumeAt = until;
    if (response.status === 429) {
      const waitMs = Math.max(0, resumeAt - now());
      throw new RateLimitedError(
        `${http.site.service} rate limited (retry after ${Math.ceil(waitMs / 1000)}s)`,
        429,
        waitMs,
      );
    }
    return response;
  }

  /**
   * The indicators Falcon holds for the given IOCs, by iocflow key, whoever created them: the filter is on
   * `value` alone so that another creator's indicator is seen (and left alone) rather than run into.
   */
  async function lookup(items: readonly DeliveryItem[], context: SinkContext): Promise<Map<string, Held>> {
    const found = new Map<string, Held>();
    const wanted = new Set(items.map((i) => keyOf(FALCON_TYPES[i.type]!, i.value)));
    for (const part of chunk([...new Set(items.map((i) => i.value))], URL_CHUNK)) {
      const filter = part.map((v) => `value:'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(',');
      const response = await call(
        '/iocs/combined/indicator/v1',
        { method: 'GET', searchParams: { filter, limit: String(Math.min(2000, part.length * 5)) } },
        context,
      );
      if (response.status >= 300) throw requestError(response, 'lookup');
      for (const raw of parseBody(http.site, envelope, response).resources ?? []) {
        const r = indicatorResource.safeParse(raw).data;
        if (r?.id && r.type && r.value && wanted.has(keyOf(r.type, r.value)))
          found.set(keyOf(r.type, r.value), {
            id: r.id,
            // An answer that does not say who created the indicator cannot prove it ours.
            ours: r.created_by !== undefined && r.created_by.toLowerCase() === clientId,
            createdBy: r.created_by ?? 'unknown',
            expired: r.expired === true,
            expiresAt: r.expiration ? Date.parse(r.expiration) : undefined,
          });
      }
    }
    return found;
  }

  function requestError(response: JsonResponse, what: string): RequestRejectedError {
    const body = envelope.safeParse(response.body).data;
    return new RequestRejectedError(
      `${http.site.service} refused the ${what} (${response.status}): ${body?.errors?.[0]?.message ?? 'no message'}`,
      response.status,
    );
  }

  function fields(item: DeliveryItem) {
    const summary = item.explanation.map((c) => `${c.factor}: ${c.input} (+${c.points})`).join('; ');
    return {
      action: falconAction(item, config.preventAt),
      severity: item.severity,
      platforms: config.platforms,
      ...(config.hostGroups ? { host_groups: config.hostGroups } : { applied_globally: true }),
      source: config.source,
      description: `iocflow score ${item.score} (${item.severity}): ${summary}`.slice(0, 1000),
      tags: [...new Set([...config.tags, ...item.tags])],
      ...(item.expiresAt !== null ? { expiration: falconTime(item.expiresAt) } : {}),
    };
  }

  /**
   * Reads a create/update answer: per-indicator error entries reject that indicator (or, for a duplicate,
   * ask for a PATCH); a 400 without any is a refusal of the whole request.
   */
  function perIndicator(
    response: JsonResponse,
    what: string,
  ): { errors: Map<string, string>; fine: boolean } {
    const body = parseBody(http.site, envelope, response);
    const errors = new Map<string, string>();
    for (const raw of body.resources ?? []) {
      const r = indicatorResource.safeParse(raw).data;
      if (r?.message_type !== 'error') continue;
      const at = r.id ?? (r.type && r.value !== undefined ? keyOf(r.type, r.value) : undefined);
      if (at) errors.set(at, r.message ?? 'rejected');
    }
    if (response.status >= 300 && errors.size === 0) throw requestError(response, what);
    return { errors, fine: response.status < 300 };
  }

  async function create(
    items: DeliveryItem[],
    result: SendResult,
    context: SinkContext,
  ): Promise<DeliveryItem[]> {
    const duplicates: DeliveryItem[] = [];
    for (const part of chunk(items, config.batchSize)) {
      const response = await call(
        indicatorsPath,
        {
          method: 'POST',
          searchParams: { retrodetects: String(config.retrodetects), ignore_warnings: 'true' },
          json: {
            comment: 'iocflow',
            indicators: part.map((i) => ({ type: FALCON_TYPES[i.type]!, value: i.value, ...fields(i) })),
          },
        },
        context,
      );
      const { errors } = perIndicator(response, 'create');
      for (const item of part) {
        const error = errors.get(keyOf(FALCON_TYPES[item.type]!, item.value));
        if (error === undefined) result.accepted.push(item.outboxId);
        else if (/duplicate/i.test(error)) duplicates.push(item);
        else result.rejected.push({ outboxId: item.outboxId, message: `CrowdStrike: ${error}` });
      }
    }
    return duplicates;
  }

  async function update(
    items: { item: DeliveryItem; id: string; patch: Record<string, unknown> }[],
    result: SendResult,
    context: SinkContext,
  ): Promise<void> {
    for (const part of chunk(items, config.batchSize)) {
      const response = await call(
        indicatorsPath,
        {
          method: 'PATCH',
          searchParams: { retrodetects: String(config.retrodetects), ignore_warnings: 'true' },
          json: { comment: 'iocflow', indicators: part.map((p) => ({ id: p.id, ...p.patch })) },
        },
        context,
      );
      const { errors } = perIndicator(response, 'update');
      for (const { item, id } of part) {
        const error = errors.get(id);
        if (error === undefined) result.accepted.push(item.outboxId);
        else result.rejected.push({ outboxId: item.outboxId, message: `CrowdStrike: ${error}` });
      }
    }
  }

  /** Deletes indicators by id; `done` hears of each part deleted. */
  async function remove(
    items: { item: DeliveryItem; id: string }[],
    comment: string,
    context: SinkContext,
    done: (part: { item: DeliveryItem; id: string }[]) => void = () => {},
  ) {
    for (const part of chunk(items, URL_CHUNK)) {
      const searchParams = new URLSearchParams([['comment', comment]]);
      for (const { id } of part) searchParams.append('ids', id);
      const response = await call(indicatorsPath, { method: 'DELETE', searchParams }, context);
      // An id that is already gone is what a delete wants.
      if (response.status >= 300 && response.status !== 404) throw requestError(response, 'delete');
      done(part);
    }
  }

  return {
    name,
    config,
    async send(batch: readonly DeliveryItem[], context: SinkContext): Promise<SendResult> {
      const result: SendResult = { accepted: [], rejected: [] };
      const supported: DeliveryItem[] = [];
      for (const item of batch) {
        if (FALCON_TYPES[item.type]) supported.push(item);
        else if (item.action === 'withdraw') result.accepted.push(item.outboxId);
        else
          result.rejected.push({
            outboxId: item.outboxId,
            message: `CrowdStrike IOC management does not take ${item.type} indicators`,
          });
      }
      try {
        const existing = await lookup(supported, context);
        const heldFor = (i: DeliveryItem) => existing.get(keyOf(FALCON_TYPES[i.type]!, i.value));
        /** Our indicator for the IOC, if Falcon holds one. */
        const idOf = (i: DeliveryItem) => {
          const held = heldFor(i);
          return held?.ours ? held.id : undefined;
        };
        /** Settles the upserts whose IOC Falcon holds from another creator as rejected; the rest. */
        const leaveAlone = (items: DeliveryItem[]) =>
          items.filter((item) => {
            const held = heldFor(item);
            if (!held || held.ours) return true;
            result.rejected.push({ outboxId: item.outboxId, message: foreign(held) });
            return false;
          });
        const overdue = (i: DeliveryItem) => i.expiresAt !== null && i.expiresAt <= now();
        const upserts = supported.filter((i) => i.action === 'upsert' && !overdue(i));
        const withdrawals = supported.filter((i) => i.action === 'withdraw' || overdue(i));
        const stale = upserts.filter((i) => {
          const held = heldFor(i);
          if (!held?.ours) return false;
          if (held.expired || (held.expiresAt !== undefined && held.expiresAt <= now())) return true;
          return held.expiresAt !== undefined && i.expiresAt === null;
        });
        await remove(
          stale.map((item) => ({ item, id: idOf(item)! })),
          'iocflow: replaced by a fresh indicator',
          context,
          (part) => {
            for (const { item } of part) existing.delete(keyOf(FALCON_TYPES[item.type]!, item.value));
          },
        );
        const duplicates = await create(
          leaveAlone(upserts).filter((i) => !idOf(i)),
          result,
          context,
        );
        if (duplicates.length > 0) for (const [k, v] of await lookup(duplicates, context)) existing.set(k, v);
        const patches = [
          ...upserts.filter((i) => idOf(i) && !duplicates.includes(i)),
          ...leaveAlone(duplicates),
        ];
        for (const item of patches.filter((i) => !idOf(i)))
          result.rejected.push({
            outboxId: item.outboxId,
            message: 'CrowdStrike: duplicate, but not found on lookup',
          });
        await update(
          patches.filter((i) => idOf(i)).map((item) => ({ item, id: idOf(item)!, patch: fields(item) })),
          result,
          context,
        );
        // Nothing to withdraw where Falcon holds nothing of ours.
        result.accepted.push(...withdrawals.filter((i) => !idOf(i)).map((i) => i.outboxId));
        const held = withdrawals.filter((i) => idOf(i)).map((item) => ({ item, id: idOf(item)! }));
        if (config.withdraw === 'delete')
          await remove(held, 'iocflow withdrawal', context, (part) =>
            result.accepted.push(...part.map((p) => p.item.outboxId)),
          );
        else {
          const expiration = falconTime(now());
          await update(
            held.map((h) => ({ ...h, patch: { action: 'no_action', expiration } })),
            result,
            context,
          );
        }
      } catch (err) {
        return { ...result, failure: asError(err) };
      }
      return result;
    },
  };
}

/** Epoch ms as Falcon writes times: RFC 3339 UTC to the second. */
function falconTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Resolves after `ms`, or rejects when the activity is cancelled meanwhile. */
function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(asError(signal.reason));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(asError(signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
