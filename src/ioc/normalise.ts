import { canonicaliseDomain, endsInNumericLabel } from './domain.js';
import { canonicalIpv4, canonicalIpv6, formatCidr, formatIpv4, parseCidr, strictIpv4Value } from './ip.js';
import { refangHost, refangScheme, unwrap } from './refang.js';
import { resolveTypeHint, type HintTarget } from './type-hints.js';
import { type IndicatorContext, type IocType, type NormaliseOutcome, type RejectReason } from './types.js';
import { canonicaliseUrl, hasScheme, hasWhitespaceOrControl, parsePort } from './url.js';

/** Longer raw entries are rejected (`too_long`) before any parsing, so hostile input costs nothing. @default 8192 */
export const MAX_ENTRY_LENGTH = 8192;

/**
 * CIDR blocks broader than these are rejected: pushed to a firewall, `0.0.0.0/1` would block half
 * the internet, and no feed means that.
 */
export const MIN_CIDR_PREFIX = { ipv4: 8, ipv6: 16 } as const;

const HASH_BY_LENGTH: Readonly<Record<number, IocType>> = { 32: 'md5', 40: 'sha1', 64: 'sha256' };
const HASH_LENGTH: Readonly<Record<'md5' | 'sha1' | 'sha256', number>> = { md5: 32, sha1: 40, sha256: 64 };

type Outcome = NormaliseOutcome;

/**
 * Normalises one raw entry into zero or more canonical indicators or rejections. Never throws.
 * Composite MISP types give several outcomes (`domain|ip` → a domain and an IP).
 * @param raw the entry's value as the source gave it, possibly defanged
 * @param typeHint the source's own type name for the entry (`ip-dst`, `IPv4`, `FileHash-SHA256`,
 *   `file:hashes.'SHA-256'`…); without one the type is detected from the value. An unknown name is
 *   rejected as `unknown_type`; a value that contradicts its hint is rejected, never re-typed.
 */
export function normaliseEntry(raw: string, typeHint?: string): NormaliseOutcome[] {
  try {
    return normaliseChecked(raw, typeHint);
  } catch (error) {
    // Only a bug gets here; one odd entry must not stop a feed.
    return [
      rejected(
        'unknown_type',
        `internal error: ${error instanceof Error ? error.message : String(error)}`.slice(0, 200),
      ),
    ];
  }
}

function normaliseChecked(raw: string, typeHint: string | undefined): Outcome[] {
  if (typeof raw !== 'string') return [rejected('empty', 'value is not a string')];
  if (raw.length > MAX_ENTRY_LENGTH)
    return [rejected('too_long', `${raw.length} characters; the limit is ${MAX_ENTRY_LENGTH}`)];
  let hint: HintTarget | undefined;
  if (typeof typeHint === 'string' && typeHint.trim() !== '') {
    hint = cachedTypeHint(typeHint);
    if (hint === undefined)
      return [rejected('unknown_type', `unknown type name ${JSON.stringify(typeHint.slice(0, 60))}`)];
    if (hint === 'not_an_indicator')
      return [rejected('not_an_indicator', `a ${typeHint.slice(0, 60)} is not an indicator`)];
    const fast = hintedFastPath(raw, hint);
    if (fast) return [fast];
  } else {
    const fast = plainFastPath(raw);
    if (fast) return [fast];
  }
  const value = unwrap(raw);
  if (value === '') return [rejected('empty')];
  return hint === undefined ? [detectAndCanonicalise(value)] : canonicaliseAsHinted(value, hint);
}

const typeHintCache = new Map<string, HintTarget | undefined>();
function cachedTypeHint(typeHint: string): HintTarget | undefined {
  if (typeHintCache.has(typeHint)) return typeHintCache.get(typeHint);
  const target = resolveTypeHint(typeHint);
  if (typeHintCache.size < 1000) typeHintCache.set(typeHint, target);
  return target;
}

// Fast paths. Most entries are already clean: a hash, a dotted quad, a lowercase host name. For
// those, unwrapping and refanging change nothing and detection has one answer, so they go straight
// to the validator the full path would reach, with the same result (the property tests compare
// them on generated input; a strict dotted quad is exactly what ipaddr.js's isValidFourPartDecimal
// accepts, and its own canonical text).

/** A clean hash, dotted quad or host name without a type hint. */
function plainFastPath(raw: string): Outcome | undefined {
  const hashType = HASH_BY_LENGTH[raw.length];
  if (hashType !== undefined) {
    if (isHex(raw)) return indicator(hashType, raw.toLowerCase());
    return undefined;
  }
  if (raw.length <= 15 && strictIpv4Value(raw) >= 0) return indicator('ipv4', raw);
  if (isPlainHostName(raw)) return domainOutcome(raw);
  return undefined;
}

/** A clean dotted quad with an IP hint, or a clean host name with a domain hint. */
function hintedFastPath(raw: string, hint: HintTarget): Outcome | undefined {
  switch (hint) {
    case 'ip':
    case 'ipv4':
    case 'ip:port':
    case 'ip|port':
      return raw.length <= 15 && strictIpv4Value(raw) >= 0 ? indicator('ipv4', raw) : undefined;
    case 'domain':
      return isPlainHostName(raw) ? domainOutcome(raw) : undefined;
    default:
      return undefined;
  }
}

/**
 * Letters, digits, `-` and `.` only, at least one `.`, ending in a letter: nothing to unwrap or
 * refang (no brackets, spaces, quotes or trailing punctuation), no scheme, path, port or `@`, not
 * hex-only, and not ending in a numeric label, so detection can only make it a domain.
 */
function isPlainHostName(raw: string): boolean {
  const last = raw.charCodeAt(raw.length - 1) | 32;
  if (!(last >= 97 && last <= 122)) return false;
  let dots = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 46) dots++;
    else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || (c >= 65 && c <= 90)))
      return false;
  }
  return dots > 0;
}

function detectAndCanonicalise(value: string): Outcome {
  const withScheme = refangScheme(value);
  if (hasScheme(withScheme)) return urlOutcome(withScheme);
  const slash = value.indexOf('/');
  if (slash >= 0) {
    const before = refangHost(value.slice(0, slash));
    if (looksLikeIpAddress(before) && /^\/\d{1,3}$/.test(value.slice(slash)))
      return cidrOutcome(before + value.slice(slash));
    if (/^www\./i.test(before) && !before.includes('@')) return urlOutcome(`http://${value}`);
    if (!value.includes('@')) {
      return rejected(
        'unknown_type',
        'looks like a URL without a scheme: give it a scheme, a www. host or a url type hint',
      );
    }
  }
  let text = refangHost(value);
  if (isHex(text)) {
    const hashType = HASH_BY_LENGTH[text.length];
    if (hashType !== undefined) return indicator(hashType, text.toLowerCase());
    if (text.length >= 24)
      return rejected(
        'bad_hash_length',
        `${text.length} hex characters is not an md5 (32), sha1 (40) or sha256 (64)`,
      );
  }
  if ((text.charCodeAt(0) | 32) === 109 && /^mailto:/i.test(text)) text = text.slice(7);
  if (text.includes('@')) return emailOutcome(text);
  if (text.startsWith('[') || text.includes(':')) return ipWithOptionalPort(text, 'any');
  if (looksLikeIpAddress(text) || endsInNumericLabel(text)) return ipOutcome(text, 'any');
  if (!text.includes('.')) return rejected('unknown_type', 'not an IP, domain, URL, hash or email address');
  if (hasWhitespaceOrControl(text)) return rejected('unknown_type', 'contains whitespace');
  return domainOutcome(text);
}

function canonicaliseAsHinted(value: string, hint: HintTarget): Outcome[] {
  switch (hint) {
    case 'not_an_indicator':
      return [rejected('not_an_indicator')];
    case 'md5':
    case 'sha1':
    case 'sha256':
      return [hashOutcome(value, hint)];
    case 'ipv4':
    case 'ipv6':
      return [ipOutcome(refangHost(value), hint)];
    case 'ip': {
      const text = refangHost(value);
      return [text.includes('/') ? cidrOutcome(text) : ipOutcome(text, 'any')];
    }
    case 'cidr': {
      const text = refangHost(value);
      return [text.includes('/') ? cidrOutcome(text) : rejected('bad_cidr', 'no /prefix')];
    }
    case 'ip:port':
      return [ipWithOptionalPort(refangHost(value), 'any')];
    case 'domain':
      return [domainOutcome(refangHost(value))];
    case 'url':
      return [hintedUrlOutcome(value)];
    case 'email': {
      const text = refangHost(value);
      return [emailOutcome(/^mailto:/i.test(text) ? text.slice(7) : text)];
    }
    case 'ip|port':
    case 'host|port': {
      const pipe = value.lastIndexOf('|');
      if (pipe < 0) {
        const text = refangHost(value);
        return [hint === 'ip|port' ? ipWithOptionalPort(text, 'any') : domainWithOptionalPort(text)];
      }
      const port = parsePort(value.slice(pipe + 1).trim());
      if (port < 0)
        return [
          rejected('bad_port', `port ${JSON.stringify(value.slice(pipe + 1, pipe + 13))} is not 1-65535`),
        ];
      const host = refangHost(unwrap(value.slice(0, pipe)));
      const outcome = hint === 'ip|port' ? ipOutcome(host, 'any') : domainOutcome(host);
      return [withContext(outcome, { port })];
    }
    case 'domain|ip': {
      const pipe = value.indexOf('|');
      if (pipe < 0) return [rejected('bad_composite', 'domain|ip value has no |')];
      return [
        domainOutcome(refangHost(unwrap(value.slice(0, pipe)))),
        ipOutcome(refangHost(unwrap(value.slice(pipe + 1))), 'any'),
      ];
    }
    case 'filename|md5':
    case 'filename|sha1':
    case 'filename|sha256': {
      const hashType = hint.slice('filename|'.length) as 'md5' | 'sha1' | 'sha256';
      const pipe = value.lastIndexOf('|');
      if (pipe < 0) return [hashOutcome(value, hashType)];
      const filename = value.slice(0, pipe);
      const outcome = hashOutcome(unwrap(value.slice(pipe + 1)), hashType);
      return [filename === '' ? outcome : withContext(outcome, { filename })];
    }
  }
}

function hashOutcome(value: string, type: 'md5' | 'sha1' | 'sha256'): Outcome {
  if (!isHex(value)) return rejected('bad_hash', `${type} must be hexadecimal`);
  if (value.length !== HASH_LENGTH[type]) {
    return rejected(
      'bad_hash_length',
      `${type} has ${HASH_LENGTH[type]} hex characters, not ${value.length}`,
    );
  }
  return indicator(type, value.toLowerCase());
}

type IpFamily = 'any' | 'ipv4' | 'ipv6';

function ipOutcome(text: string, family: IpFamily): Outcome {
  const v4 = canonicalIpv4(text);
  if (v4 !== undefined) {
    if (family === 'ipv6') return rejected('bad_ip', 'expected an IPv6 address, got IPv4');
    return indicator('ipv4', v4);
  }
  if (!text.includes(':'))
    return rejected('bad_ip', 'not four decimal octets (no leading zeros, octal, hex or short forms)');
  const v6 = canonicalIpv6(text);
  if (!v6) return rejected('bad_ip', 'not a valid IPv6 address');
  // An IPv4-mapped IPv6 address is IPv6 as written, so an IPv6 hint accepts it.
  if (family === 'ipv4' && v6.type !== 'ipv4')
    return rejected('bad_ip', 'expected an IPv4 address, got IPv6');
  return indicator(v6.type, v6.value);
}

/** `1.2.3.4`, `1.2.3.4:8080`, `2001:db8::1`, `[2001:db8::1]:443`, `[2001:db8::1]`. */
function ipWithOptionalPort(text: string, family: IpFamily): Outcome {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return rejected('bad_ip', 'unclosed [');
    const after = text.slice(close + 1);
    const outcome = ipOutcome(text.slice(1, close), family);
    if (after === '') return outcome;
    if (!after.startsWith(':')) return rejected('bad_ip', 'text after ]');
    const port = parsePort(after.slice(1));
    if (port < 0) return rejected('bad_port', `port ${JSON.stringify(after.slice(1, 13))} is not 1-65535`);
    return withContext(outcome, { port });
  }
  const colon = text.indexOf(':');
  if (colon >= 0 && text.indexOf(':', colon + 1) < 0) {
    const port = parsePort(text.slice(colon + 1));
    if (port < 0)
      return rejected('bad_port', `port ${JSON.stringify(text.slice(colon + 1, colon + 13))} is not 1-65535`);
    const host = text.slice(0, colon);
    const outcome =
      looksLikeIpAddress(host) || endsInNumericLabel(host) || family !== 'any'
        ? ipOutcome(host, family)
        : domainOutcome(host);
    return withContext(outcome, { port });
  }
  return ipOutcome(text, family);
}

function domainWithOptionalPort(text: string): Outcome {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return domainOutcome(text);
  const port = parsePort(text.slice(colon + 1));
  if (port < 0)
    return rejected('bad_port', `port ${JSON.stringify(text.slice(colon + 1, colon + 13))} is not 1-65535`);
  return withContext(domainOutcome(text.slice(0, colon)), { port });
}

function cidrOutcome(text: string): Outcome {
  const parsed = parseCidr(text);
  if (!parsed.ok) return rejected('bad_cidr', parsed.detail);
  const { block } = parsed;
  if (block.family === 4 && block.prefix === 32) return indicator('ipv4', formatIpv4(block.network));
  if (block.family === 6 && block.prefix === 128) return indicator('ipv6', formatCidr(block).slice(0, -4));
  const minimum = block.family === 4 ? MIN_CIDR_PREFIX.ipv4 : MIN_CIDR_PREFIX.ipv6;
  if (block.prefix < minimum) return rejected('bad_cidr', `/${block.prefix} is broader than /${minimum}`);
  return indicator('cidr', formatCidr(block));
}

function domainOutcome(text: string): Outcome {
  if (strictIpv4Value(text) >= 0 || text.includes(':'))
    return rejected('bad_domain', 'an IP address, not a domain');
  if (endsInNumericLabel(text))
    return rejected('bad_domain', 'ends in a numeric label, like a malformed IP address');
  const domain = canonicaliseDomain(text);
  return domain.ok ? indicator('domain', domain.value) : rejected(domain.reason, domain.detail);
}

function urlOutcome(text: string): Outcome {
  const url = canonicaliseUrl(text);
  return url.ok ? indicator('url', url.value) : rejected(url.reason, url.detail);
}

/**
 * A URL hint accepts `scheme://…`, or a host followed by a `/` path (written with `http://`).
 * A bare host is rejected: the source said URL, and a domain is a different indicator.
 */
function hintedUrlOutcome(value: string): Outcome {
  const withScheme = refangScheme(value);
  if (hasScheme(withScheme)) return urlOutcome(withScheme);
  if (value.includes('://')) return rejected('bad_url', 'malformed scheme');
  const slash = value.indexOf('/');
  if (slash <= 0) return rejected('bad_url', 'neither a scheme:// nor a host/path');
  return urlOutcome(`http://${value}`);
}

/** Local part kept exactly as written (it may be case-sensitive); only the domain is canonicalised. */
function emailOutcome(text: string): Outcome {
  const at = text.lastIndexOf('@');
  if (at < 0) return rejected('bad_email', 'no @');
  const local = text.slice(0, at);
  const problem = describeLocalPartProblem(local);
  if (problem) return rejected('bad_email', problem);
  const domainText = text.slice(at + 1);
  if (strictIpv4Value(domainText) >= 0 || domainText.startsWith('['))
    return rejected('bad_email', 'address literal domains are not accepted');
  const domain = canonicaliseDomain(domainText);
  if (!domain.ok)
    return rejected(
      domain.reason === 'bad_domain' ? 'bad_email' : domain.reason,
      `email domain: ${domain.detail}`,
    );
  return indicator('email', `${local}@${domain.value}`);
}

// Dot-atom letters of RFC 5322 without `{`, `}`, `` ` `` and `\`, which are never seen in real
// addresses but are defang brackets; quoted local parts are not accepted.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_|~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_|~-]+)*$/;

function describeLocalPartProblem(local: string): string | undefined {
  if (local.length === 0) return 'empty local part';
  if (local.length > 64) return 'local part longer than 64 characters';
  if (!LOCAL_PART.test(local)) return 'local part has characters or dots an address may not have';
  return undefined;
}

function looksLikeIpAddress(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || c === 46 || c === 58 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)))
      return false;
  }
  return text.includes(':') || /^[\d.]+$/.test(text);
}

function isHex(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}

function indicator(type: IocType, value: string): Outcome {
  // canonicalKey's format, without building an Indicator object for every outcome.
  return { kind: 'indicator', type, value, key: `${type}:${value}` };
}

function withContext(outcome: Outcome, context: IndicatorContext): Outcome {
  return outcome.kind === 'indicator' ? { ...outcome, context: { ...outcome.context, ...context } } : outcome;
}

function rejected(reason: RejectReason, detail?: string): Outcome {
  return detail === undefined ? { kind: 'rejected', reason } : { kind: 'rejected', reason, detail };
}
