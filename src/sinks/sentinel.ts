import { z } from 'zod';
import type { SinkConfig } from '../config/index.js';
import { parseRetryAfter, RateLimitedError } from '../http/failures.js';
import type { DeliveryItem } from '../store/index.js';
import { asError, chunk } from './batches.js';
import type { SinkDeps } from './index.js';
import { withBearer, type TokenCache, type TokenSource } from './oauth-token.js';
import { parseBody, sinkHttp } from './settings.js';
import { stixIndicator, stixPattern } from './stix-indicator.js';
import type { SendResult, Sink, SinkContext } from './types.js';

type SentinelConfig = Extract<SinkConfig, { type: 'sentinel' }>;

// Microsoft Sentinel threat-intelligence upload (vendor-apis.md §8): STIX 2.1 indicators with an id derived
// from the IOC key, so Sentinel's dedup on (id, sourcesystem) makes every re-upload an update, and a
// retried batch lands on the same objects. Withdrawals re-send the indicator revoked (or with valid_until
// now): objects uploaded this way cannot be deleted through the management API.

const uploadAnswer = z
  .object({
    errors: z
      .array(z.object({ recordIndex: z.number().int(), errorMessages: z.array(z.string()) }))
      .optional(),
  })
  .nullable();

const throttled = z.object({ message: z.string() }).partial();

/** Sentinel counts requests per minute: a 429 that names no wait is over once the minute has passed. */
const RATE_WINDOW_MS = 60_000;

/**
 * How long a 429 asks to wait: the `Retry-After` header when the gateway sends one (seconds or an HTTP
 * date), else the seconds in the message text ("Try again in 12 seconds.", the only hint Microsoft
 * documents); undefined when neither names a wait.
 */
export function throttleDelayMs(
  retryAfter: string | string[] | undefined,
  body: unknown,
  now: number,
): number | undefined {
  const fromHeader = parseRetryAfter(retryAfter, now);
  if (fromHeader !== undefined) return fromHeader;
  const seconds = /try again in (\d+) seconds?/i.exec(throttled.safeParse(body).data?.message ?? '')?.[1];
  return seconds === undefined ? undefined : Number(seconds) * 1000;
}

export function sentinelSink(
  name: string,
  config: SentinelConfig,
  deps: SinkDeps & { tokens: TokenCache },
): Sink {
  const http = sinkHttp(name, 'Microsoft Sentinel', config, deps.http, 'clientSecret');
  const now = deps.now ?? Date.now;
  const legacy = config.api === 'upload-indicators';
  const apiBase = (
    config.apiBaseUrl ?? (legacy ? 'https://sentinelus.azure-api.net' : 'https://api.ti.sentinel.azure.com')
  ).replace(/\/+$/, '');
  const workspace = encodeURIComponent(config.workspaceId);
  const uploadUrl = legacy
    ? `${apiBase}/workspaces/${workspace}/threatintelligenceindicators:upload`
    : `${apiBase}/workspaces/${workspace}/threat-intelligence-stix-objects:upload`;
  const apiVersion = config.apiVersion ?? (legacy ? '2022-07-01' : '2024-02-01-preview');
  const arrayField = legacy ? 'indicators' : 'stixobjects';
  const tokenUrl =
    config.tokenUrl ??
    `${config.authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(config.tenantId)}/oauth2/v2.0/token`;
  const token: TokenSource = {
    key: `${tokenUrl}|${config.clientId}|${config.scope}`,
    tokenUrl,
    form: {
      grant_type: 'client_credentials',
      client_id: config.clientId,
      client_secret: config.clientSecret,
      scope: config.scope,
    },
    success: [200],
  };

  return {
    name,
    config,
    async send(batch: readonly DeliveryItem[], context: SinkContext): Promise<SendResult> {
      const result: SendResult = { accepted: [], rejected: [] };
      const sendable: { item: DeliveryItem; object: ReturnType<typeof stixIndicator> }[] = [];
      for (const item of batch) {
        try {
          stixPattern(item.type, item.value);
        } catch {
          result.rejected.push({ outboxId: item.outboxId, message: `no STIX pattern for type ${item.type}` });
          continue;
        }
        sendable.push({
          item,
          object: stixIndicator(item, { tlp: config.tlp, withdraw: config.withdraw }),
        });
      }
      // Sentinel takes at most 100 objects per request, whatever batchSize allows.
      for (const part of chunk(sendable, Math.min(100, config.batchSize))) {
        try {
          const errors = await upload(
            part.map((p) => p.object),
            context,
          );
          for (const [i, { item }] of part.entries()) {
            const messages = errors.get(i);
            if (messages)
              result.rejected.push({ outboxId: item.outboxId, message: `Sentinel: ${messages.join('; ')}` });
            else result.accepted.push(item.outboxId);
          }
        } catch (err) {
          return { ...result, failure: asError(err) };
        }
      }
      return result;
    },
  };

  /** One upload; per-object errors come back as recordIndex → messages, the others were ingested. */
  async function upload(objects: unknown[], context: SinkContext): Promise<Map<number, string[]>> {
    const response = await withBearer(deps.tokens, http, token, context.signal, (authorization) =>
      http.call(uploadUrl, {
        method: 'POST',
        searchParams: { 'api-version': apiVersion },
        headers: { authorization },
        json: { sourcesystem: config.sourceSystem, [arrayField]: objects },
        signal: context.signal,
        answers: (s) => s === 200 || s === 429,
      }),
    );
    if (response.status === 429) {
      const waitMs = throttleDelayMs(response.headers['retry-after'], response.body, now());
      throw new RateLimitedError(
        `${http.site.service} throttled the upload${waitMs !== undefined ? `, retry after ${Math.ceil(waitMs / 1000)}s` : ''}`,
        429,
        waitMs ?? RATE_WINDOW_MS,
      );
    }
    const answer = parseBody(http.site, uploadAnswer, response);
    return new Map((answer?.errors ?? []).map((e) => [e.recordIndex, e.errorMessages]));
  }
}
