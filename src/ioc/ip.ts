// Strict IP and CIDR parsing. Feeds are full of addresses that lenient parsers (inet_aton, and
// ipaddr.js's IPv4.parse) read as something else: `010.1.1.1` is 8.1.1.1 to them, `1.1` is 1.0.0.1,
// `0x7f.1` is 127.0.0.1. An indicator that was guessed is worse than one that was dropped, so IPv4
// here is exactly four decimal octets without leading zeros. IPv6 is parsed by hand as well because
// ipaddr.js reads the IPv4-compatible form `::1.2.3.4` as IPv4-mapped `::ffff:1.2.3.4`; the test
// suite cross-checks this parser against ipaddr.js on generated addresses.

/** Parses dotted-quad IPv4 strictly; returns the address as an unsigned 32-bit number, or -1. */
export function parseIpv4(text: string, start = 0, end = text.length): number {
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

export function formatIpv4(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/**
 * Parses an IPv6 address (with `::` and an optional strict dotted-quad tail) into eight 16-bit
 * groups; null when it is not one. Zone IDs (`fe80::1%eth0`) are rejected: they are local to a host.
 */
export function parseIpv6(text: string): number[] | null {
  if (text.length < 2 || text.length > 45) return null;
  const doubleColon = text.indexOf('::');
  if (doubleColon >= 0 && text.indexOf('::', doubleColon + 1) >= 0) return null;
  const head = doubleColon >= 0 ? text.slice(0, doubleColon) : text;
  const tail = doubleColon >= 0 ? text.slice(doubleColon + 2) : '';
  const headGroups = head === '' ? [] : parseGroups(head, doubleColon < 0);
  const tailGroups = tail === '' ? [] : parseGroups(tail, true);
  if (!headGroups || !tailGroups) return null;
  const count = headGroups.length + tailGroups.length;
  if (doubleColon < 0) return count === 8 ? headGroups : null;
  if (count > 7) return null;
  return [...headGroups, ...new Array<number>(8 - count).fill(0), ...tailGroups];
}

function parseGroups(part: string, mayEndInIpv4: boolean): number[] | null {
  const pieces = part.split(':');
  const groups: number[] = [];
  for (let p = 0; p < pieces.length; p++) {
    const piece = pieces[p]!;
    if (p === pieces.length - 1 && mayEndInIpv4 && piece.includes('.')) {
      const v4 = parseIpv4(piece);
      if (v4 < 0) return null;
      groups.push(v4 >>> 16, v4 & 0xffff);
      continue;
    }
    if (piece.length === 0 || piece.length > 4) return null;
    let group = 0;
    for (let i = 0; i < piece.length; i++) {
      const digit = hexDigit(piece.charCodeAt(i));
      if (digit < 0) return null;
      group = group * 16 + digit;
    }
    groups.push(group);
  }
  return groups;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as `::`, first run on ties. */
export function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The IPv4 address inside `::ffff:a.b.c.d`, or -1 when the address is not IPv4-mapped. */
export function ipv4MappedValue(groups: readonly number[]): number {
  for (let i = 0; i < 5; i++) if (groups[i] !== 0) return -1;
  if (groups[5] !== 0xffff) return -1;
  return groups[6]! * 65536 + groups[7]!;
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

/** A parsed CIDR block with its host bits cleared. */
export type CidrBlock =
  { family: 4; network: number; prefix: number } | { family: 6; network: bigint; prefix: number };

/** Result of parsing `address/prefix`: a block, or the reason it is not one. */
export type CidrParse = { ok: true; block: CidrBlock; hostBitsSet: boolean } | { ok: false; detail: string };

/**
 * Parses `address/prefix` strictly (decimal prefix without leading zeros). Host bits are masked off,
 * and reported, because MISP and many feeds write `192.0.2.7/24` when they mean the /24.
 * An IPv4-mapped IPv6 block of /96 or longer becomes the IPv4 block it maps.
 */
export function parseCidr(text: string): CidrParse {
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, detail: 'no /prefix' };
  const prefixText = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(prefixText)) return { ok: false, detail: 'prefix is not a decimal number' };
  const prefix = Number(prefixText);
  const address = text.slice(0, slash);
  const v4 = parseIpv4(address);
  if (v4 >= 0) {
    if (prefix > 32) return { ok: false, detail: `IPv4 prefix /${prefix} is longer than 32` };
    const network = prefix === 0 ? 0 : (v4 & (0xffffffff << (32 - prefix))) >>> 0;
    return { ok: true, block: { family: 4, network, prefix }, hostBitsSet: network !== v4 };
  }
  const groups = address.includes(':') ? parseIpv6(address) : null;
  if (!groups) return { ok: false, detail: 'address is neither strict IPv4 nor IPv6' };
  if (prefix > 128) return { ok: false, detail: `IPv6 prefix /${prefix} is longer than 128` };
  const mapped = ipv4MappedValue(groups);
  if (mapped >= 0 && prefix >= 96) return parseCidr(`${formatIpv4(mapped)}/${prefix - 96}`);
  const value = ipv6ToBigInt(groups);
  const hostMask = (1n << BigInt(128 - prefix)) - 1n;
  const network = value & ~hostMask;
  return { ok: true, block: { family: 6, network, prefix }, hostBitsSet: network !== value };
}

export function formatCidr(block: CidrBlock): string {
  return block.family === 4
    ? `${formatIpv4(block.network)}/${block.prefix}`
    : `${formatIpv6(bigIntToIpv6Groups(block.network))}/${block.prefix}`;
}
