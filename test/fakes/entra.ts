import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendJson, type RecordedRequest } from './server.js';

// The Entra ID token endpoint (vendor-apis.md §8.2), shared by fakes of Microsoft APIs: form-encoded
// client credentials at /{tenant}/oauth2/v2.0/token, a scope for the management audience, AADSTS-style
// errors, and tokens that expire after `expires_in`.

export interface EntraOptions {
  tenantId: string;
  clients: Record<string, string>;
  /** @default 3599 */
  expiresInS?: number;
}

const ACCEPTED_SCOPES = new Set([
  'https://management.azure.com/.default',
  'https://management.core.windows.net/.default',
]);

export class EntraTokens {
  /** token → expiry (epoch ms) */
  readonly issued = new Map<string, number>();
  constructor(private readonly options: EntraOptions) {}

  /** Answers a token request when the path is the token endpoint; false otherwise. */
  handle(req: RecordedRequest, res: ServerResponse): boolean {
    const m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(req.path);
    if (!m) return false;
    const error = (status: number, code: string, number: number, text: string) =>
      sendJson(res, status, {
        error: code,
        error_description: `AADSTS${number}: ${text}`,
        error_codes: [number],
        timestamp: new Date().toISOString(),
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
      });
    if (req.method !== 'POST') return (error(405, 'invalid_request', 900561, 'POST required.'), true);
    if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded'))
      return (error(400, 'invalid_request', 900144, "The request body must contain 'grant_type'."), true);
    if (m[1] !== this.options.tenantId)
      return (error(400, 'invalid_request', 90002, `Tenant '${m[1]}' not found.`), true);
    const form = new URLSearchParams(req.body);
    if (form.get('grant_type') !== 'client_credentials')
      return (
        error(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.'),
        true
      );
    const client = form.get('client_id') ?? '';
    if (!(client in this.options.clients))
      return (
        error(400, 'unauthorized_client', 700016, `Application with identifier '${client}' was not found.`),
        true
      );
    if (this.options.clients[client] !== form.get('client_secret'))
      return (error(401, 'invalid_client', 7000215, 'Invalid client secret provided.'), true);
    if (!ACCEPTED_SCOPES.has(form.get('scope') ?? ''))
      return (
        error(400, 'invalid_scope', 70011, 'The provided value for the input parameter scope is not valid.'),
        true
      );
    const expiresIn = this.options.expiresInS ?? 3599;
    const token = `eyJ0eXAi.${randomUUID()}`;
    this.issued.set(token, Date.now() + expiresIn * 1000);
    sendJson(res, 200, {
      token_type: 'Bearer',
      expires_in: expiresIn,
      ext_expires_in: expiresIn,
      access_token: token,
    });
    return true;
  }

  /** Whether an `Authorization` header carries a live token. */
  valid(authorization: string | string[] | undefined): boolean {
    const m = typeof authorization === 'string' ? /^Bearer (.+)$/.exec(authorization) : null;
    const expiry = m ? this.issued.get(m[1]!) : undefined;
    return expiry !== undefined && expiry > Date.now();
  }

  /** Revokes every token issued so far (the next API call gets 401). */
  revokeAll(): void {
    this.issued.clear();
  }
}
