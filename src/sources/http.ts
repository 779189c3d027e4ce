import type { Readable } from 'node:stream';
import type { Got, Response } from 'got';
import { trustedCas } from '../http/client.js';
import { failureFor, transportFailure } from '../http/failures.js';
import type { SourceMemory } from '../store/source-state.js';
import type { SourceSettings } from './settings.js';
import type { SourceContext } from './types.js';

export interface SourceRequest {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** A JSON body (sent with `Content-Type: application/json`). */
  json?: unknown;
  /** A form body (`application/x-www-form-urlencoded`). */
  form?: Record<string, string>;
  /** Validators of the last complete pull: sent as If-None-Match / If-Modified-Since. */
  conditional?: SourceMemory;
}

export type OpenedResponse =
  | { status: 'unchanged' }
  | {
      status: 'ok';
      body: Readable;
      /** Validators to remember once the whole body was taken. */
      validators: Pick<SourceMemory, 'etag' | 'lastModified'>;
      headers: Response['headers'];
    };

/**
 * Bodies may take long to stream (a full export); the whole-request limit is generous, while the wait for
 * headers and any silence on the socket are bounded by the source's `timeoutMs`.
 */
const BODY_LIMIT_MS = 30 * 60_000;

/**
 * Starts one request and hands back the body as a stream once the status is known: 304 is `unchanged`, any
 * other non-2xx throws the typed failure of `failureFor`, and transport errors become retryable failures.
 * Nothing of the request (headers, query) ever goes into an error message.
 */
export async function openResponse(
  context: Pick<SourceContext, 'http' | 'signal'>,
  settings: SourceSettings,
  request: SourceRequest,
): Promise<OpenedResponse> {
  const headers: Record<string, string> = { ...request.headers };
  if (request.conditional?.etag) headers['if-none-match'] = request.conditional.etag;
  if (request.conditional?.lastModified) headers['if-modified-since'] = request.conditional.lastModified;
  const http: Got = context.http;
  const stream = http.stream(request.url, {
    method: request.method ?? 'GET',
    headers,
    ...(request.json !== undefined ? { json: request.json } : {}),
    ...(request.form !== undefined ? { form: request.form } : {}),
    timeout: { request: BODY_LIMIT_MS, response: settings.timeoutMs, socket: settings.timeoutMs },
    // A private CA is trusted on top of the system's, never instead of them.
    ...(settings.ca
      ? { https: { certificateAuthority: trustedCas(settings.ca), rejectUnauthorized: true } }
      : {}),
    ...(context.signal ? { signal: context.signal } : {}),
    decompress: true,
  });
  let response: Response;
  try {
    response = await new Promise<Response>((resolve, reject) => {
      stream.once('response', resolve);
      stream.once('error', reject);
    });
  } catch (err) {
    stream.destroy();
    if (context.signal?.aborted) throw err;
    throw transportFailure(settings.site, err);
  }
  if (response.statusCode === 304) {
    stream.destroy();
    return { status: 'unchanged' };
  }
  if (response.statusCode < 200 || response.statusCode >= 300) {
    stream.destroy();
    throw failureFor(settings.site, response);
  }
  const etag = header(response.headers.etag);
  const lastModified = header(response.headers['last-modified']);
  return { status: 'ok', body: stream, validators: { etag, lastModified }, headers: response.headers };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
