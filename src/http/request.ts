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
