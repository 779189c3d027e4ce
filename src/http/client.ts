import { got, type Got } from 'got';

export interface HttpClientOptions {
  /** Whole-request timeout. @default 30000 */
  timeoutMs?: number;
  /** Extra PEM CA certificates to trust (on-premises MISP, Splunk…), on top of the system's. */
  ca?: string | Buffer;
  userAgent?: string;
}

/**
 * The one HTTP client configuration: retries off (Temporal owns retries), TLS verification always on,
 * no redirects to other hosts' credentials, a bounded timeout.
 */
export function createHttpClient(options: HttpClientOptions = {}): Got {
  return got.extend({
    retry: { limit: 0 },
    timeout: { request: options.timeoutMs ?? 30_000 },
    throwHttpErrors: false,
    followRedirect: true,
    https: { rejectUnauthorized: true, ...(options.ca ? { certificateAuthority: options.ca } : {}) },
    headers: { 'user-agent': options.userAgent ?? 'iocflow' },
  });
}

/** GETs a text resource, failing on any non-2xx status with the URL (never a credential) in the message. */
export async function fetchText(client: Got, url: string): Promise<string> {
  const response = await client.get(url, { responseType: 'text' });
  if (response.statusCode < 200 || response.statusCode >= 300) {
    throw new Error(`GET ${redactUrl(url)} answered ${response.statusCode}`);
  }
  return response.body;
}

/** A URL fit for messages and logs: no userinfo, no query (where API keys tend to hide). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}
