// URLs are split by hand rather than with WHATWG `new URL()`: that parser percent-encodes and
// dot-segment-collapses the path and query, and a malicious URL must be kept byte for byte (the
// same path with different encodings is how some kits evade blocklists). Only the host is
// canonicalised, with the same rules as a domain or IP indicator.

import { canonicaliseDomain, endsInNumericLabel } from './domain.js';
import { canonicalIpv4, canonicalIpv6, strictIpv4Value } from './ip.js';
import { endWithoutTrailingPunctuation, refangHost } from './refang.js';
import type { RejectReason } from './types.js';

/** Schemes an indicator URL may have, with the default port that canonical form leaves out. */
export const URL_DEFAULT_PORTS: Readonly<Record<string, number>> = {
  http: 80,
  https: 443,
  ftp: 21,
  ftps: 990,
  sftp: 22,
};

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+-]{0,30}):\/\//;

/** A host as it appears in a canonical URL, typed as the indicator it would be on its own. */
export interface UrlHost {
  type: 'domain' | 'ipv4' | 'ipv6';
  /** The canonical domain or IP, without IPv6 brackets. */
  value: string;
}

export type UrlCanonical =
  { ok: true; value: string; host: UrlHost } | { ok: false; reason: RejectReason; detail: string };

/** True when the text starts with `scheme://`; a scan, because most values tested are not URLs. */
export function hasScheme(text: string): boolean {
  let end = 0;
  while (end < text.length && end <= 31) {
    const c = text.charCodeAt(end);
    if (!(
      (c >= 97 && c <= 122) ||
      (c >= 65 && c <= 90) ||
      (end > 0 && ((c >= 48 && c <= 57) || c === 43 || c === 45))
    ))
      break;
    end++;
  }
  return end > 0 && text.startsWith('://', end);
}

/**
 * Canonicalises a URL that starts with `scheme://`: scheme and host lowercased, the host refanged
 * and validated as a domain or IP, default port dropped, fragment dropped, userinfo, path and
 * query kept byte-exact, an empty path written as `/`.
 */
export function canonicaliseUrl(text: string): UrlCanonical {
  const schemeMatch = SCHEME.exec(text);
  if (!schemeMatch) return { ok: false, reason: 'bad_url', detail: 'no scheme://' };
  const scheme = schemeMatch[1]!.toLowerCase();
  const defaultPort = URL_DEFAULT_PORTS[scheme];
  if (defaultPort === undefined)
    return {
      ok: false,
      reason: 'bad_scheme',
      detail: `scheme ${scheme}: is not one of ${Object.keys(URL_DEFAULT_PORTS).join(', ')}`,
    };

  const rest = text.slice(schemeMatch[0].length);
  let authorityEnd = rest.length;
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c === 47 || c === 63 || c === 35) {
      authorityEnd = i;
      break;
    }
  }
  const authority = refangHost(rest.slice(0, authorityEnd));
  if (hasWhitespaceOrControl(authority))
    return { ok: false, reason: 'bad_url', detail: 'whitespace in the host part' };
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at + 1) : '';
  const hostAndPort = authority.slice(at + 1);

  const split = splitHostAndPort(hostAndPort);
  if (!split.ok) return split;
  const host = canonicaliseUrlHost(split.host, split.bracketed);
  if (!host.ok) return host;
  let portText = '';
  if (split.port !== '') {
    const port = parsePort(split.port);
    if (port < 0)
      return {
        ok: false,
        reason: 'bad_port',
        detail: `port ${JSON.stringify(split.port.slice(0, 12))} is not 1-65535`,
      };
    if (port !== defaultPort) portText = `:${port}`;
  }

  let pathAndQuery = rest.slice(authorityEnd);
  const hash = pathAndQuery.indexOf('#');
  if (hash >= 0) pathAndQuery = pathAndQuery.slice(0, hash);
  pathAndQuery = pathAndQuery.slice(0, endWithoutTrailingPunctuation(pathAndQuery));
  if (hasWhitespaceOrControl(pathAndQuery))
    return { ok: false, reason: 'bad_url', detail: 'whitespace or control character in the path' };
  if (!pathAndQuery.startsWith('/')) pathAndQuery = `/${pathAndQuery}`;

  const hostText = host.host.type === 'ipv6' ? `[${host.host.value}]` : host.host.value;
  return { ok: true, value: `${scheme}://${userinfo}${hostText}${portText}${pathAndQuery}`, host: host.host };
}

type HostSplit =
  | { ok: true; host: string; port: string; bracketed: boolean }
  | { ok: false; reason: RejectReason; detail: string };

function splitHostAndPort(hostAndPort: string): HostSplit {
  if (hostAndPort.startsWith('[')) {
    const close = hostAndPort.indexOf(']');
    if (close < 0) return { ok: false, reason: 'bad_url', detail: 'unclosed [ in host' };
    const after = hostAndPort.slice(close + 1);
    if (after !== '' && !after.startsWith(':'))
      return { ok: false, reason: 'bad_url', detail: 'text after ] in host' };
    return { ok: true, host: hostAndPort.slice(1, close), port: after.slice(1), bracketed: true };
  }
  const colon = hostAndPort.indexOf(':');
  if (colon < 0) return { ok: true, host: hostAndPort, port: '', bracketed: false };
  if (hostAndPort.indexOf(':', colon + 1) >= 0)
    return { ok: false, reason: 'bad_url', detail: 'IPv6 host without [brackets]' };
  return {
    ok: true,
    host: hostAndPort.slice(0, colon),
    port: hostAndPort.slice(colon + 1),
    bracketed: false,
  };
}

type HostCanonical = { ok: true; host: UrlHost } | { ok: false; reason: RejectReason; detail: string };

function canonicaliseUrlHost(host: string, bracketed: boolean): HostCanonical {
  if (bracketed) {
    const address = canonicalIpv6(host);
    if (!address)
      return { ok: false, reason: 'bad_ip', detail: 'URL host in [brackets] is not an IPv6 address' };
    return { ok: true, host: { type: address.type, value: address.value } };
  }
  const v4 = canonicalIpv4(host);
  if (v4 !== undefined) return { ok: true, host: { type: 'ipv4', value: v4 } };
  if (endsInNumericLabel(host))
    return { ok: false, reason: 'bad_ip', detail: 'URL host is not four decimal octets' };
  const domain = canonicaliseDomain(host);
  if (!domain.ok) return { ok: false, reason: domain.reason, detail: `URL host: ${domain.detail}` };
  return { ok: true, host: { type: 'domain', value: domain.value } };
}

/** Parses a decimal port 1–65535; -1 otherwise. */
export function parsePort(text: string): number {
  if (text.length === 0 || text.length > 5) return -1;
  let port = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    port = port * 10 + (c - 48);
  }
  return port >= 1 && port <= 65535 ? port : -1;
}

export function hasWhitespaceOrControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (
      c <= 32 ||
      c === 127 ||
      (c >= 0x80 && c <= 0x9f) ||
      c === 0xa0 ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0xfeff ||
      (c >= 0x2000 && c <= 0x200b) ||
      c === 0x3000
    )
      return true;
  }
  return false;
}

/** The host of a canonical URL (as made by canonicaliseUrl), without re-validating it. */
export function hostOfCanonicalUrl(url: string): UrlHost | undefined {
  const schemeEnd = url.indexOf('://');
  if (schemeEnd < 0) return undefined;
  const start = schemeEnd + 3;
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 || c === 63) {
      end = i;
      break;
    }
  }
  const authority = url.slice(start, end);
  const hostAndPort = authority.slice(authority.lastIndexOf('@') + 1);
  if (hostAndPort.startsWith('['))
    return { type: 'ipv6', value: hostAndPort.slice(1, hostAndPort.indexOf(']')) };
  const colon = hostAndPort.indexOf(':');
  const host = colon >= 0 ? hostAndPort.slice(0, colon) : hostAndPort;
  return { type: strictIpv4Value(host) >= 0 ? 'ipv4' : 'domain', value: host };
}
