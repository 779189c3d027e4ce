import { domainToASCII } from 'node:url';
import { parse as parsePublicSuffix } from 'tldts';
import type { RejectReason } from './types.js';

/** A canonical domain, or why the text is not one. */
export type DomainCanonical =
  { ok: true; value: string } | { ok: false; reason: RejectReason; detail: string };

// Only the ICANN section of the public suffix list counts (allowPrivateDomains: false). With the
// private section, `github.io`, `blogspot.com` or `s3.amazonaws.com` would themselves be "bare public
// suffixes" and be rejected, although they are real hosts that appear in feeds. Hostname extraction
// and validation are ours (strict LDH below), so tldts only looks up the suffix.
const PUBLIC_SUFFIX_OPTIONS = {
  allowPrivateDomains: false,
  extractHostname: false,
  validateHostname: false,
  detectIp: false,
  mixedInputs: false,
} as const;

// Feeds repeat the same host names many times (in domains, URL hosts, email domains, and across
// sources), so verdicts are remembered. Bounded: when full it is emptied and refilled.
const MEMO_LIMIT = 100_000;
const memo = new Map<string, DomainCanonical>();

/**
 * Canonicalises a host name: lowercase, without the trailing root dot, IDN labels as punycode,
 * LDH labels of 1–63 characters, at most 253 in all, under a public suffix from the ICANN section
 * of the public suffix list, and not itself a public suffix (`co.uk` is rejected).
 */
export function canonicaliseDomain(text: string): DomainCanonical {
  const known = memo.get(text);
  if (known !== undefined) return known;
  const result = canonicaliseDomainUncached(text);
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(text, result);
  return result;
}

function canonicaliseDomainUncached(text: string): DomainCanonical {
  let name = text;
  if (name.charCodeAt(name.length - 1) === 46) name = name.slice(0, -1);
  if (name === '') return { ok: false, reason: 'bad_domain', detail: 'empty host name' };
  if (!isLowercaseAscii(name)) name = name.toLowerCase();
  if (needsIdnaConversion(name)) {
    const ascii = domainToASCII(name);
    if (ascii === '')
      return { ok: false, reason: 'bad_domain', detail: 'not a valid internationalised domain name' };
    name = ascii;
  }
  const shapeProblem = describeLdhProblem(name);
  if (shapeProblem) return { ok: false, reason: 'bad_domain', detail: shapeProblem };
  const suffix = parsePublicSuffix(name, PUBLIC_SUFFIX_OPTIONS);
  if (suffix.isIcann !== true) {
    return {
      ok: false,
      reason: 'invalid_tld',
      detail: `.${suffix.publicSuffix ?? name} is not in the public suffix list`,
    };
  }
  if (suffix.domain === null)
    return { ok: false, reason: 'bad_domain', detail: `${name} is a public suffix, not a domain` };
  return { ok: true, value: name };
}

function isLowercaseAscii(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 65 && c <= 90) || c > 127) return false;
  }
  return true;
}

/** True when the name has non-ASCII characters or punycode labels that domainToASCII must check. */
function needsIdnaConversion(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 127) return true;
    // `xn--` at the start of a label
    if (c === 120 && (i === 0 || name.charCodeAt(i - 1) === 46) && name.startsWith('n--', i + 1)) return true;
  }
  return false;
}

function describeLdhProblem(name: string): string | undefined {
  if (name.length > 253) return 'longer than 253 characters';
  let labelStart = 0;
  for (let i = 0; i <= name.length; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 46;
    if (c === 46) {
      const length = i - labelStart;
      if (length === 0) return 'empty label';
      if (length > 63) return 'label longer than 63 characters';
      if (name.charCodeAt(labelStart) === 45 || name.charCodeAt(i - 1) === 45)
        return 'label starts or ends with a hyphen';
      labelStart = i + 1;
    } else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45)) {
      return `character ${JSON.stringify(name[i])} is not allowed in a host name`;
    }
  }
  return undefined;
}

/** True when the last label is all digits: no TLD is, so the text was meant as an IP address. */
export function endsInNumericLabel(name: string): boolean {
  let i = name.length - 1;
  if (i >= 0 && name.charCodeAt(i) === 46) i--;
  if (i < 0) return false;
  let digits = 0;
  for (; i >= 0; i--) {
    const c = name.charCodeAt(i);
    if (c === 46) break;
    if (c < 48 || c > 57) return false;
    digits++;
  }
  return digits > 0;
}
