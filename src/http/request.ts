import type { Got, Headers } from 'got';
import type { ClientRequest } from 'node:http';
import { redactUrl } from './client.js';
import { failureFor, transportFailure, HttpFailure, type CallSite } from './failures.js';

/**
 * The largest vendor or sink answer read into memory. Real answers are kilobytes (a VirusTotal file report
 * with every engine is under 1 MiB); anything past this is a fault or a hostile endpoint, not data.
 * @default 16 MiB
 */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/**
 * The answer was larger than MAX_RESPONSE_BYTES: reading stopped there. Not retryable: the same request
 * gets the same answer.
 */
export class ResponseTooLargeError extends HttpFailure {
  constructor(message: string) {
    super(message, undefined, false);
  }
}

/** The body did not parse as what the service is documented to send. */
export class ResponseInvalidError extends HttpFailure {
  constructor(message: string, status: number, retryable: boolean) {
    super(message, status, retryable);
  }
}

export interface JsonResponse {
  status: number;
  body: unknown;
  headers: Headers;
}

export interface GetJsonOptions {
  headers?: Record<string, string>;
  searchParams?: Record<string, string>;
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
  onSent?: (() => void) | undefined;
  /** Statuses that are answers rather than failures (e.g. 404 = unknown to the vendor). */
  accept?: readonly number[];
}

/** GETs a JSON document: `requestJson` with the statuses in `accept` read as answers besides 2xx. */
export function getJson(
  http: Got,
  site: CallSite,
  url: string,
  options: GetJsonOptions = {},
): Promise<JsonResponse> {
  const { accept, ...rest } = options;
  return requestJson(http, site, url, {
    ...rest,
    method: 'GET',
    answers: (status) => (status >= 200 && status < 300) || (accept?.includes(status) ?? false),
  });
}

export interface RequestJsonOptions {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
  /** Sent as is (with the caller's content-type). */
  body?: string | Buffer;
  searchParams?: URLSearchParams | Record<string, string>;
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
  /** Called once the request has been written to the connection: when the service starts counting it. */
  onSent?: (() => void) | undefined;
  /** Statuses that are answers for the caller to read rather than failures. @default 2xx */
  answers?: (status: number) => boolean;
  /** Larger answers are cut off with a ResponseTooLargeError. @default MAX_RESPONSE_BYTES */
  maxResponseBytes?: number;
}

/**
 * One JSON call of any method: what the sinks use. An unexpected status becomes the typed failure of
 * failures.ts, a transport error a retryable one; an empty body reads as null, a body that is not JSON
 * is a ResponseInvalidError (retryable when the status was a success: a proxy in the way).
 */
export async function requestJson(
  http: Got,
  site: CallSite,
  url: string,
  options: RequestJsonOptions,
): Promise<JsonResponse> {
  const maxBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  let response;
  let tooLarge = false;
  const request = http(url, {
    method: options.method,
    headers: { accept: 'application/json', ...options.headers },
    ...(options.json !== undefined ? { json: options.json } : {}),
    ...(options.form ? { form: options.form } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.searchParams ? { searchParams: options.searchParams } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs ? { timeout: { request: options.timeoutMs } } : {}),
    responseType: 'text',
  });
  // A declared length is refused before the body is read (the first progress event carries it as `total`);
  // an undeclared one is counted as it arrives.
  // `on` returns the request itself, awaited below.
  void request.on('downloadProgress', ({ transferred, total }: { transferred: number; total?: number }) => {
    if (transferred > maxBytes || (total ?? 0) > maxBytes) stop();
  });
  function stop() {
    tooLarge = true;
    request.cancel();
  }
  const { onSent } = options;
  if (onSent) void request.on('request', (sent: ClientRequest) => sent.once('finish', onSent));
  try {
    response = await request;
  } catch (err) {
    if (tooLarge) {
      throw new ResponseTooLargeError(
        `${site.service} sent more than ${maxBytes} bytes for ${redactUrl(url)}; the answer was not read`,
      );
    }
    throw transportFailure(site, err);
  }
  const status = response.statusCode;
  const answered = options.answers ? options.answers(status) : status >= 200 && status < 300;
  if (!answered) throw failureFor(site, response);
  const text = response.body.trim();
  if (text === '') return { status, body: null, headers: response.headers };
  try {
    return { status, body: JSON.parse(text) as unknown, headers: response.headers };
  } catch {
    throw new ResponseInvalidError(
      `${site.service} answered ${status} with a body that is not JSON (starts ${JSON.stringify(text.slice(0, 40).replace(/\s+/g, ' '))})`,
      status,
      status < 300,
    );
  }
}
