import { z } from 'zod';
import { AuthRejectedError } from '../http/failures.js';
import type { JsonResponse } from '../http/request.js';
import { parseBody, type SinkHttp } from './settings.js';

// OAuth 2.0 client credentials, as Entra ID (Sentinel) and CrowdStrike both do them: one form POST for a
// bearer token that lives `expires_in` seconds. Tokens are cached per worker, keyed by endpoint and client
// id (never the secret), and refreshed shortly before they expire or when the API says 401.

const tokenAnswer = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().int().positive(),
  token_type: z.string().optional(),
});

/** Refresh this long before the stated expiry, so a token never dies mid-batch. */
const EARLY_REFRESH_MS = 60_000;

export interface TokenSource {
  /** Cache key: endpoint and client id, never the secret. */
  key: string;
  tokenUrl: string;
  /** The form body, client secret included. */
  form: Record<string, string>;
  /** Statuses that mean "here is a token" (Entra 200, CrowdStrike 201). */
  success: readonly number[];
}

/** A bearer token with the headers of the answer that issued it (CrowdStrike names the tenant's cloud there). */
export interface IssuedToken {
  token: string;
  expiresAt: number;
  headers: JsonResponse['headers'];
}

/** A worker-wide cache of bearer tokens; one instance lives as long as the activities object. */
export class TokenCache {
  private readonly tokens = new Map<string, Promise<IssuedToken>>();
  /** Tokens fetched (not served from cache): tests and the bench count them. */
  fetched = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async get(http: SinkHttp, source: TokenSource, signal?: AbortSignal): Promise<string> {
    return (await this.issued(http, source, signal)).token;
  }

  /** The current token and the answer it came with, fetched when there is none or it is about to expire. */
  async issued(http: SinkHttp, source: TokenSource, signal?: AbortSignal): Promise<IssuedToken> {
    const cached = this.tokens.get(source.key);
    if (cached) {
      const entry = await cached.catch(() => undefined);
      if (entry && entry.expiresAt - EARLY_REFRESH_MS > this.now()) return entry;
    }
    const pending = this.fetch(http, source, signal);
    this.tokens.set(source.key, pending);
    try {
      return await pending;
    } catch (err) {
      this.tokens.delete(source.key);
      throw err;
    }
  }

  invalidate(key: string): void {
    this.tokens.delete(key);
  }

  private async fetch(http: SinkHttp, source: TokenSource, signal?: AbortSignal): Promise<IssuedToken> {
    this.fetched++;
    const response = await http.call(source.tokenUrl, {
      method: 'POST',
      form: source.form,
      signal,
      answers: (status) => source.success.includes(status) || status === 400,
    });
    // Entra answers a wrong secret or unknown client with 400 invalid_client as often as with 401.
    if (!source.success.includes(response.status)) {
      throw new AuthRejectedError(
        `${http.site.service} token endpoint rejected the client credentials (${response.status})${http.site.credentialKey ? ` (config: ${http.site.credentialKey})` : ''}`,
        response.status,
      );
    }
    const answer = parseBody(http.site, tokenAnswer, response);
    return {
      token: answer.access_token,
      expiresAt: this.now() + answer.expires_in * 1000,
      headers: response.headers,
    };
  }
}

/**
 * Runs an API call with a bearer token; when the API answers 401 (the token was revoked or expired early)
 * it fetches a fresh token and tries once more. A second 401 is the credentials' fault and stands.
 */
export async function withBearer<T>(
  tokens: TokenCache,
  http: SinkHttp,
  source: TokenSource,
  signal: AbortSignal | undefined,
  call: (authorization: string) => Promise<T>,
): Promise<T> {
  const token = await tokens.get(http, source, signal);
  try {
    return await call(`Bearer ${token}`);
  } catch (err) {
    if (!(err instanceof AuthRejectedError) || err.status !== 401) throw err;
    tokens.invalidate(source.key);
    return call(`Bearer ${await tokens.get(http, source, signal)}`);
  }
}
