import type { Got, Headers } from 'got';
import { failureFor, transportFailure, HttpFailure, type CallSite } from './failures.js';

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
  /** Statuses that are answers rather than failures (e.g. 404 = unknown to the vendor). */
  accept?: readonly number[];
}

/**
 * GETs a JSON document. Transport errors and unexpected statuses become typed failures (see
 * failures.ts); a body that is not JSON (an HTML error page behind a proxy) is a retryable
 * ResponseInvalidError that says what came instead. Messages never carry the URL's query or credentials.
 */
export async function getJson(
  http: Got,
  site: CallSite,
  url: string,
  options: GetJsonOptions = {},
): Promise<JsonResponse> {
  let response;
  try {
    response = await http.get(url, {
      headers: { accept: 'application/json', ...options.headers },
      ...(options.searchParams ? { searchParams: options.searchParams } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeoutMs ? { timeout: { request: options.timeoutMs } } : {}),
      responseType: 'text',
    });
  } catch (err) {
    throw transportFailure(site, err);
  }
  const ok =
    (response.statusCode >= 200 && response.statusCode < 300) ||
    options.accept?.includes(response.statusCode);
  if (!ok) throw failureFor(site, response);
  try {
    return {
      status: response.statusCode,
      body: JSON.parse(response.body) as unknown,
      headers: response.headers,
    };
  } catch {
    const start = response.body.trimStart().slice(0, 40).replace(/\s+/g, ' ');
    throw new ResponseInvalidError(
      `${site.service} answered ${response.statusCode} with a body that is not JSON (starts ${JSON.stringify(start)})`,
      response.statusCode,
      true,
    );
  }
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
  /** Statuses that are answers for the caller to read rather than failures. @default 2xx */
  answers?: (status: number) => boolean;
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
  let response;
  try {
    response = await http(url, {
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
  } catch (err) {
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
