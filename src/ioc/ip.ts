// Strict IP and CIDR parsing. ipaddr.js is the parser and the RFC 5952 formatter of record; this
// module adds the strictness it lacks, as explicit pre-checks that run before any text reaches it.
//
// ipaddr.js is lenient exactly where feeds are dangerous: `IPv4.parse` reads `010.1.1.1` as
// 8.1.1.1 (octal), `1.1` as 1.0.0.1 and `0x7f.1` as 127.0.0.1; `IPv6.parse` accepts zone IDs
// (`fe80::1%eth0`), octal/hex octets in a dotted tail, and reads the IPv4-compatible form
// `::1.2.3.4` as the IPv4-mapped `::ffff:1.2.3.4`. An indicator that was guessed is worse than one
// that was dropped, so:
//
// - IPv4 must be exactly four decimal octets 0–255 without leading zeros — the set
//   `ipaddr.IPv4.isValidFourPartDecimal` accepts. `strictIpv4Value` checks that in one scan without
//   allocating (a property test checks it against the library on generated input).
// - IPv6 may hold only hex digits, `:` and `.` (so no zone ID), at most 45 characters. A dotted tail
//   must be the last piece and a strict dotted quad; it is rewritten as two hex groups before the
//   library sees it, so `::1.2.3.4` stays the IPv4-compatible `::102:304` (RFC 4291 §2.5.5.1) and
//   only `::ffff:a.b.c.d` is IPv4-mapped.
// - A CIDR prefix is decimal without leading zeros, and its address passes the checks above.
//
// A strict dotted quad is its own canonical form, so the hot paths (a clean IPv4 entry, an IPv4 URL
// host, an allowlist probe) take the value from the pre-check scan instead of building an
// ipaddr.IPv4 object; everything else is parsed by the library.

import ipaddr from 'ipaddr.js';

/**
 * Strict pre-check for IPv4: four decimal octets 0–255 without leading zeros, the set
 * `ipaddr.IPv4.isValidFourPartDecimal` accepts. Returns the address as an unsigned 32-bit number,
 * or -1. One scan, no allocation; the whole text (or `text[start, end)`) must be the address.
 */
export function strictIpv4Value(text: string, start = 0, end = text.length): number {
  let value = 0;
  let octets = 0;
  let i = start;
  while (i < end) {
    const first = i;
    let octet = 0;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      i++;
    }
    const digits = i - first;
    if (digits === 0 || digits > 3 || octet > 255) return -1;
    if (digits > 1 && text.charCodeAt(first) === 48) return -1;
    value = value * 256 + octet;
    octets++;
    if (i === end) break;
    if (text.charCodeAt(i) !== 46 || octets === 4) return -1;
    i++;
    if (i === end) return -1;
  }
  return octets === 4 ? value : -1;
}

/** The canonical text of a strict IPv4 address (pre-checked, then parsed by ipaddr.js), or undefined. */
export function canonicalIpv4(text: string): string | undefined {
  if (text.length > 15 || strictIpv4Value(text) < 0) return undefined;
  return ipaddr.IPv4.parse(text).toString();
}

export function formatIpv4(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

function ipv4Number(address: ipaddr.IPv4): number {
  const [a, b, c, d] = address.octets as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/**
 * Strict pre-check for IPv6. Returns the text to hand to ipaddr.js — with a strict dotted-quad tail
 * rewritten as two hex groups — or undefined when the text cannot be a strict IPv6 address: other
 * characters (a zone ID's `%`, spaces), no colon, dots anywhere but in the last piece, a tail that is
 * not a strict dotted quad, or more than 45 characters.
 */
function strictIpv6Text(text: string): string | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  let lastColon = -1;
  let firstDot = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)) continue;
    if (c === 58) lastColon = i;
    else if (c === 46) {
      if (firstDot < 0) firstDot = i;
    } else return undefined;
  }
  if (lastColon < 0) return undefined;
  if (firstDot < 0) return text;
  if (firstDot < lastColon) return undefined;
  const v4 = strictIpv4Value(text, lastColon + 1);
  if (v4 < 0) return undefined;
  return `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
}

/** Parses a strict IPv6 address with ipaddr.js after the pre-check; null when it is not one. */
export function parseIpv6(text: string): ipaddr.IPv6 | null {
  const prepared = strictIpv6Text(text);
  if (prepared === undefined) return null;
  try {
    return ipaddr.IPv6.parse(prepared);
  } catch {
    return null;
  }
}

/**
 * The canonical form of a strict IPv6 address: RFC 5952 text from ipaddr.js, or, for an
 * IPv4-mapped address (`::ffff:a.b.c.d`), the IPv4 address it maps. Undefined when not strict IPv6.
 */
export function canonicalIpv6(text: string): { type: 'ipv4' | 'ipv6'; value: string } | undefined {
  const address = parseIpv6(text);
  if (!address) return undefined;
  // parts[5] first: isIPv4MappedAddress walks every special range, and almost no address is mapped.
  if (address.parts[5] === 0xffff && address.isIPv4MappedAddress())
    return { type: 'ipv4', value: address.toIPv4Address().toString() };
  return { type: 'ipv6', value: address.toRFC5952String() };
}

/**
 * An IPv6 address's 128-bit value; undefined when the text is not strict IPv6. Allowlist probes
 * call this on canonical values (hex groups, at most one `::`), which a scan reads directly —
 * ipaddr.js's parse costs microseconds; anything else (a dotted tail, an odd form) goes through
 * the library. A property test checks the scan against ipaddr.js on generated addresses.
 */
export function ipv6Value(text: string): bigint | undefined {
  const fast = plainIpv6Value(text);
  if (fast !== undefined) return fast;
  const address = parseIpv6(text);
  return address ? ipv6ToBigInt(address.parts) : undefined;
}

/**
 * Reads hex groups separated by `:` with at most one `::` (no dotted tail, no zone); undefined for
 * anything else, including every malformed text, so callers fall back to the library.
 */
export function plainIpv6Value(text: string): bigint | undefined {
  if (text.length < 2 || text.length > 39) return undefined;
  let high = 0n; // groups before `::`
  let headGroups = 0;
  let low = 0n; // groups after `::`
  let tailGroups = 0;
  let sawDoubleColon = false;
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return undefined;
    sawDoubleColon = true;
    i = 2;
    if (i === text.length) return 0n;
  }
  for (;;) {
    let group = 0;
    let digits = 0;
    while (i < text.length) {
      const digit = hexDigit(text.charCodeAt(i));
      if (digit < 0) break;
      group = group * 16 + digit;
      digits++;
      i++;
    }
    if (digits === 0 || digits > 4) return undefined;
    if (sawDoubleColon) {
      low = (low << 16n) | BigInt(group);
      tailGroups++;
    } else {
      high = (high << 16n) | BigInt(group);
      headGroups++;
    }
    if (i === text.length) break;
    if (text.charCodeAt(i) !== 58) return undefined;
    i++;
    if (text.charCodeAt(i) === 58) {
      if (sawDoubleColon) return undefined;
      sawDoubleColon = true;
      i++;
      if (i === text.length) break;
    } else if (i === text.length) return undefined;
  }
  const groups = headGroups + tailGroups;
  if (sawDoubleColon ? groups > 7 : groups !== 8) return undefined;
  return (high << BigInt(16 * (8 - headGroups))) | low;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export function ipv6ToBigInt(groups: readonly number[]): bigint {
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

export function bigIntToIpv6Groups(value: bigint): number[] {
  const groups = new Array<number>(8);
  for (let i = 7; i >= 0; i--) {
    groups[i] = Number(value & 0xffffn);
    value >>= 16n;
  }
  return groups;
}

/** RFC 5952 text of eight 16-bit groups, formatted by ipaddr.js. */
export function formatIpv6(groups: number[]): string {
  return new ipaddr.IPv6(groups).toRFC5952String();
}

/** A parsed CIDR block with its host bits cleared. */
export type CidrBlock =
  { family: 4; network: number; prefix: number } | { family: 6; network: bigint; prefix: number };

/** Result of parsing `address/prefix`: a block, or the reason it is not one. */
export type CidrParse = { ok: true; block: CidrBlock; hostBitsSet: boolean } | { ok: false; detail: string };

const DECIMAL_PREFIX = /^(0|[1-9]\d{0,2})$/;

/**
 * Parses `address/prefix` strictly (decimal prefix without leading zeros, strict address), with
 * ipaddr.js's `IPv4.parseCIDR` / `IPv6.parseCIDR` doing the parsing. Host bits are masked off, and reported, because MISP and
 * many feeds write `192.0.2.7/24` when they mean the /24. An IPv4-mapped IPv6 block of /96 or
 * longer becomes the IPv4 block it maps.
 */
export function parseCidr(text: string): CidrParse {
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, detail: 'no /prefix' };
  const prefixText = text.slice(slash + 1);
  if (!DECIMAL_PREFIX.test(prefixText)) return { ok: false, detail: 'prefix is not a decimal number' };
  const prefix = Number(prefixText);
  const address = text.slice(0, slash);
  // The family is known from the pre-check, so the family's own parseCIDR is called: the generic
  // ipaddr.parseCIDR tries IPv6 first and builds (and throws) an Error for every IPv4 block.
  if (strictIpv4Value(address) >= 0) {
    if (prefix > 32) return { ok: false, detail: `IPv4 prefix /${prefix} is longer than 32` };
    return ipv4Block(ipv4Number(ipaddr.IPv4.parseCIDR(text)[0]), prefix);
  }
  const prepared = address.includes(':') ? strictIpv6Text(address) : undefined;
  if (prepared === undefined) return { ok: false, detail: 'address is neither strict IPv4 nor IPv6' };
  if (prefix > 128) return { ok: false, detail: `IPv6 prefix /${prefix} is longer than 128` };
  let v6: ipaddr.IPv6;
  try {
    v6 = ipaddr.IPv6.parseCIDR(`${prepared}/${prefix}`)[0];
  } catch {
    return { ok: false, detail: 'address is neither strict IPv4 nor IPv6' };
  }
  if (prefix >= 96 && v6.parts[5] === 0xffff && v6.isIPv4MappedAddress())
    return ipv4Block(ipv4Number(v6.toIPv4Address()), prefix - 96);
  const value = ipv6ToBigInt(v6.parts);
  const hostMask = (1n << BigInt(128 - prefix)) - 1n;
  const network = value & ~hostMask;
  return { ok: true, block: { family: 6, network, prefix }, hostBitsSet: network !== value };
}

function ipv4Block(address: number, prefix: number): CidrParse {
  const network = prefix === 0 ? 0 : (address & (0xffffffff << (32 - prefix))) >>> 0;
  return { ok: true, block: { family: 4, network, prefix }, hostBitsSet: network !== address };
}

export function formatCidr(block: CidrBlock): string {
  return block.family === 4
    ? `${formatIpv4(block.network)}/${block.prefix}`
    : `${formatIpv6(bigIntToIpv6Groups(block.network))}/${block.prefix}`;
}
