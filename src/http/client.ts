import { rootCertificates } from 'node:tls';
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
    https: {
      rejectUnauthorized: true,
      ...(options.ca ? { certificateAuthority: trustedCas(options.ca) } : {}),
    },
    headers: { 'user-agent': options.userAgent ?? 'iocflow' },
  });
}

/**
 * The CAs to verify against when a bundle is configured: the system's plus the bundle. Node's `ca` option
 * replaces the system store, so a bundle for an on-premises CA would otherwise cut off every public one.
 */
export function trustedCas(extraPem: string | Buffer): string[] {
  return [...rootCertificates, extraPem.toString()];
}

/**
 * Node's codes for a server certificate that did not verify: what each means for the operator, and whether
 * a CA bundle (`caFile`) can fix it (an untrusted issuer) or the server must (expired, misnamed…).
 */
const TLS_FAILURES: Record<string, { what: string; caFileHelps: boolean }> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: { what: 'certificate not signed by a trusted CA', caFileHelps: true },
  UNABLE_TO_GET_ISSUER_CERT: { what: 'certificate not signed by a trusted CA', caFileHelps: true },
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: { what: 'certificate not signed by a trusted CA', caFileHelps: true },
  SELF_SIGNED_CERT_IN_CHAIN: { what: 'certificate chain ends in an untrusted CA', caFileHelps: true },
  DEPTH_ZERO_SELF_SIGNED_CERT: { what: 'self-signed certificate', caFileHelps: true },
  CERT_UNTRUSTED: { what: 'certificate not trusted', caFileHelps: true },
  CERT_SIGNATURE_FAILURE: { what: 'certificate signature does not verify', caFileHelps: false },
  CERT_HAS_EXPIRED: { what: 'certificate expired', caFileHelps: false },
  CERT_NOT_YET_VALID: { what: 'certificate not yet valid', caFileHelps: false },
  CERT_REVOKED: { what: 'certificate revoked', caFileHelps: false },
  ERR_TLS_CERT_ALTNAME_INVALID: { what: 'certificate does not name this host', caFileHelps: false },
};

/** A transport error code as a certificate problem, or undefined when it is not one. */
export function certificateProblem(
  code: string | undefined,
): { what: string; caFileHelps: boolean } | undefined {
  return code !== undefined && Object.hasOwn(TLS_FAILURES, code) ? TLS_FAILURES[code] : undefined;
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
