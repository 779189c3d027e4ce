import { readFileSync } from 'node:fs';
import type { Got } from 'got';
import type { z } from 'zod';
import { durationMs } from '../config/primitives.js';
import type { SinkConfig } from '../config/index.js';
import { Pacer } from '../enrichers/pacer.js';
import { trustedCas } from '../http/client.js';
import type { CallSite } from '../http/failures.js';
import { requestJson, type JsonResponse, type RequestJsonOptions } from '../http/request.js';
import { ResponseInvalidError } from '../http/request.js';

type HttpSinkConfig = Exclude<SinkConfig, { type: 'file' }>;

/**
 * What every HTTP sink needs besides its own settings: who it is (for messages that name the config key),
 * the shared client with the sink's CA bundle and timeout, and a pacer for its request budget.
 */
export interface SinkHttp {
  readonly site: CallSite;
  /** One call, paced by the sink's rateLimit. */
  call(url: string, options: RequestJsonOptions): Promise<JsonResponse>;
  /** The config key of a setting, for messages (`sinks.<name>.<key>`). */
  key(field: string): string;
}

export function sinkHttp(
  name: string,
  service: string,
  config: HttpSinkConfig,
  http: Got,
  credentialField: string,
): SinkHttp {
  const site: CallSite = {
    service: `${service} (sink ${name})`,
    credentialKey: `sinks.${name}.${credentialField}`,
    caFileKey: `sinks.${name}.caFile`,
  };
  const client = config.caFile
    ? http.extend({
        https: {
          rejectUnauthorized: true,
          certificateAuthority: trustedCas(readCaFile(name, config.caFile)),
        },
      })
    : http;
  const pacer = config.rateLimit
    ? new Pacer(config.rateLimit.requests, durationMs(config.rateLimit.per), 0.02)
    : undefined;
  return {
    site,
    key: (field) => `sinks.${name}.${field}`,
    async call(url, options) {
      const send = (onSent?: () => void) =>
        requestJson(client, site, url, { timeoutMs: config.timeoutMs, ...options, onSent });
      return pacer ? pacer.paced(send, options.signal) : send();
    },
  };
}

/** Parses a response body with its zod schema; a body in another shape is the service's fault, retried. */
export function parseBody<T>(site: CallSite, schema: z.ZodType<T>, response: JsonResponse): T {
  const parsed = schema.safeParse(response.body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ResponseInvalidError(
    `${site.service} answered ${response.status} in an unexpected shape (${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid'})`,
    response.status,
    true,
  );
}

function readCaFile(name: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(
      `sink ${name}: cannot read caFile ${path} (config: sinks.${name}.caFile): ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}
