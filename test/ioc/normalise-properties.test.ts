import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, test } from 'vitest';
import {
  REJECT_REASONS,
  knownTypeHints,
  normaliseEntry,
  parseKey,
  refangHost,
  unwrap,
  type IocType,
} from '../../src/ioc/index.js';
import { ipv6ToBigInt, plainIpv6Value, strictIpv4Value } from '../../src/ioc/ip.js';

// Canonical values of every type, built from parts so that they are valid by construction.
// Hyphens in the third and fourth places are reserved for A-labels (`xn--…`, RFC 5891): a generated
// `xn--0` is not a canonical label but invalid punycode, which the normaliser rightly rejects.
const label = fc
  .stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,12}[a-z0-9])?$/)
  .filter((l) => l.slice(2, 4) !== '--');
const suffix = fc.constantFrom('com', 'net', 'org', 'de', 'co.uk', 'io', 'ru', 'xn--p1ai');
const domain = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), suffix)
  .map(([labels, tld]) => `${labels.join('.')}.${tld}`);
const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
const ipv6Groups = fc
  .array(group, { minLength: 8, maxLength: 8 })
  .filter((g) => !(g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff));
const ipv6Canonical = ipv6Groups.map((g) =>
  ipaddr.fromByteArray(g.flatMap((x) => [x >> 8, x & 255])).toString(),
);
const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`));
const pathChar = fc.constantFrom(..."abcXYZ019-._~!$&'()*+,;=:@/%?[]".split(''));
const path = fc
  .array(pathChar, { maxLength: 20 })
  .map((chars) => `/${chars.join('')}`.replace(/[.,;:]+$/, ''));
const url = fc
  .tuple(
    fc.constantFrom('http', 'https', 'ftp'),
    fc.oneof(domain, ipv4),
    fc.option(fc.integer({ min: 1, max: 65535 })),
    path,
  )
  .filter(
    ([scheme, , port]) => port !== ({ http: 80, https: 443, ftp: 21 } as Record<string, number>)[scheme],
  )
  .map(([scheme, host, port, p]) => `${scheme}://${host}${port === null ? '' : `:${port}`}${p}`);
const localPart = fc.stringMatching(/^[A-Za-z0-9_+-]{1,10}(?:\.[A-Za-z0-9_+-]{1,10}){0,2}$/);
const email = fc.tuple(localPart, domain).map(([local, d]) => `${local}@${d}`);
const cidr = fc
  .tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 8, max: 31 }))
  .map(([address, prefix]) => {
    const network = (address & (0xffffffff << (32 - prefix))) >>> 0;
    return `${[24, 16, 8, 0].map((shift) => (network >>> shift) & 255).join('.')}/${prefix}`;
  });

const anyValue = fc.oneof(domain, ipv4, ipv6Canonical, url, email, cidr, hex(32), hex(40), hex(64));

/** Junk made of the pieces real entries are made of, so the generator reaches the parser's corners. */
const fragments = fc.constantFrom(
  'http',
  'hxxp',
  '://',
  '[.]',
  '(dot)',
  ' dot ',
  '[:]',
  '@',
  '[at]',
  '.',
  ':',
  '/',
  '?',
  '#',
  '[',
  ']',
  '(',
  ')',
  '{',
  '}',
  '"',
  "'",
  '<',
  '>',
  '\\.',
  '\uFF0E',
  '%',
  '|',
  ',',
  ';',
  ' ',
  '\t',
  '\n',
  '\u0000',
  '\u200b',
  'ü',
  '例',
  '\uD83D\uDE00',
  '\uD800',
  'xn--',
  'evil',
  'com',
  'co.uk',
  '1',
  '0',
  '255',
  '256',
  '010',
  '0x7f',
  'ffff',
  '::',
  '2001',
  'db8',
  '/24',
  '/129',
  'www.',
  'a@b',
  '-',
  '_',
  'd41d8cd98f00b204e9800998ecf8427e',
);
const junk = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.array(fragments, { maxLength: 14 }).map((parts) => parts.join('')),
  fc.tuple(fragments, anyValue, fragments).map((parts) => parts.join('')),
);
const hint = fc.option(
  fc.oneof(
    fc.constantFrom(...knownTypeHints()),
    fc.constantFrom('IPv4', 'FileHash-SHA256', "file:hashes.'SHA-256'", 'nope', ''),
  ),
  { nil: undefined },
);

/** Breaks a canonical value the ways analysts do; the path of a URL is left alone (it is kept byte-exact). */
function defang(value: string, type: IocType, choose: (n: number) => number): string {
  const dots = [
    '[.]',
    '(.)',
    '{.}',
    '[dot]',
    '(dot)',
    '{dot}',
    ' dot ',
    ' DOT ',
    '[ . ]',
    '\\.',
    '\uFF0E',
    '\u3002',
    '\uFF61',
    '.',
  ];
  const pick = <T>(options: readonly T[]): T => options[choose(options.length)]!;
  const defangDots = (text: string) => text.replace(/\./g, () => pick(dots));
  let out = value;
  if (type === 'url') {
    const schemeEnd = value.indexOf('://');
    const hostEnd = value.indexOf('/', schemeEnd + 3);
    const scheme = value.slice(0, schemeEnd);
    const host = defangDots(value.slice(schemeEnd + 3, hostEnd)).replace(
      /:(\d+)$/,
      (_m, port: string) => `${pick([':', '[:]'])}${port}`,
    );
    const fangedScheme = pick([
      scheme,
      scheme.replace(/^http/, pick(['hxxp', 'hXXp', 'HXXP'])).replace(/^ftp/, 'fxp'),
    ]);
    out = `${fangedScheme}${pick(['://', '[://]', '[:]//'])}${host}${value.slice(hostEnd)}`;
  } else if (type === 'email') {
    const at = value.lastIndexOf('@');
    out = `${defangDots(value.slice(0, at))}${pick(['@', '[@]', '[at]', '(at)', '{at}', ' [at] '])}${defangDots(value.slice(at + 1))}`;
  } else if (type === 'ipv6') {
    out = value.replace(/(?<!:):(?!:)/g, () => pick([':', '[:]']));
  } else if (type !== 'md5' && type !== 'sha1' && type !== 'sha256') {
    out = defangDots(value);
  }
  const [open, close] = pick([
    ['', ''],
    ['"', '"'],
    ["'", "'"],
    ['<', '>'],
    ['(', ')'],
    ['[', ']'],
    [' ', '  '],
  ] as const);
  return `${open}${out}${close}${pick(['', ',', ';', '.', ''])}`;
}

describe('normalisation properties', () => {
  test('canonicalisation is idempotent: a canonical value normalises to itself, with or without its type as hint', () => {
    fc.assert(
      fc.property(fc.oneof(anyValue, junk), hint, (raw, typeHint) => {
        for (const outcome of normaliseEntry(raw, typeHint)) {
          if (outcome.kind !== 'indicator') continue;
          for (const again of [normaliseEntry(outcome.value), normaliseEntry(outcome.value, outcome.type)]) {
            expect(again).toEqual([
              { kind: 'indicator', type: outcome.type, value: outcome.value, key: outcome.key },
            ]);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('every generated canonical value is accepted as itself', () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        const [outcome] = normaliseEntry(value);
        expect(outcome).toMatchObject({ kind: 'indicator', value });
      }),
      { numRuns: 2000 },
    );
  });

  test('refanging a defanged canonical value gives it back', () => {
    fc.assert(
      fc.property(anyValue, fc.infiniteStream(fc.nat()), (value, randomness) => {
        const [canonical] = normaliseEntry(value);
        if (canonical?.kind !== 'indicator') throw new Error(`generator made a rejected value ${value}`);
        const stream = randomness[Symbol.iterator]();
        const defanged = defang(value, canonical.type, (n) => (stream.next().value as number) % n);
        const [refanged] = normaliseEntry(defanged);
        expect(refanged, `defanged as ${JSON.stringify(defanged)}`).toMatchObject({
          kind: 'indicator',
          type: canonical.type,
          value,
        });
      }),
      { numRuns: 3000 },
    );
  });

  test('no input throws, and every outcome is well-formed', () => {
    fc.assert(
      fc.property(
        fc.oneof(junk, fc.string({ unit: 'grapheme', maxLength: 80 }), anyValue),
        hint,
        (raw, typeHint) => {
          const outcomes = normaliseEntry(raw, typeHint);
          expect(outcomes.length).toBeGreaterThan(0);
          for (const outcome of outcomes) {
            if (outcome.kind === 'rejected') {
              expect(REJECT_REASONS).toContain(outcome.reason);
              expect(outcome.detail ?? '').not.toMatch(/^internal error/);
            } else {
              expect(outcome.key).toBe(`${outcome.type}:${outcome.value}`);
            }
          }
        },
      ),
      { numRuns: 5000 },
    );
  });

  test("an accepted value's key round-trips through parseKey", () => {
    fc.assert(
      fc.property(fc.oneof(anyValue, junk), hint, (raw, typeHint) => {
        for (const outcome of normaliseEntry(raw, typeHint)) {
          if (outcome.kind === 'indicator')
            expect(parseKey(outcome.key)).toEqual({ type: outcome.type, value: outcome.value });
        }
      }),
      { numRuns: 2000 },
    );
  });

  // ipaddr.js formats IPv6 now, so the cross-check runs the other way: an independent RFC 5952
  // formatter written here is the oracle, and every written form of the same groups (full, upper
  // case, compressed by the oracle, with a dotted-quad tail) must give the oracle's text.
  test('IPv6 text is RFC 5952 for any written form of the same address', () => {
    fc.assert(
      fc.property(ipv6Groups, fc.boolean(), fc.nat(), (groups, upper, choice) => {
        const full = groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
        const expected = rfc5952(groups);
        const dottedTail = `${groups
          .slice(0, 6)
          .map((g) => g.toString(16))
          .join(':')}:${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
        const forms = [full, expected, dottedTail];
        const written = forms[choice % forms.length]!;
        const [outcome] = normaliseEntry(upper ? written.toUpperCase() : written);
        expect(outcome, `written as ${written}`).toMatchObject({
          kind: 'indicator',
          type: 'ipv6',
          value: expected,
        });
      }),
      { numRuns: 2000 },
    );
  });

  test('the IPv6 value scan used by allowlist probes agrees with ipaddr.js or declines', () => {
    const written = fc.oneof(
      ipv6Groups.map((groups) => rfc5952(groups)),
      ipv6Groups.map((groups) => groups.map((g) => g.toString(16).padStart(4, '0')).join(':')),
      fc
        .array(fc.constantFrom('0', '1', 'ffff', 'FFFF', '12345', '', ':', '::', 'g', '.', '1.2.3.4'), {
          maxLength: 12,
        })
        .map((parts) => parts.join(':')),
    );
    fc.assert(
      fc.property(written, (text) => {
        const fast = plainIpv6Value(text);
        if (fast === undefined) return;
        expect(ipaddr.IPv6.isValid(text), text).toBe(true);
        expect(fast, text).toBe(ipv6ToBigInt(ipaddr.IPv6.parse(text).parts));
      }),
      { numRuns: 5000 },
    );
  });

  test('::a.b.c.d is IPv4-compatible IPv6 (not mapped); ::ffff:a.b.c.d is the IPv4 address', () => {
    fc.assert(
      fc.property(ipv4, (v4) => {
        const value = v4.split('.').reduce((n, o) => n * 256 + Number(o), 0);
        const groups = [0, 0, 0, 0, 0, 0, Math.floor(value / 65536), value % 65536];
        // ipaddr.js alone would read `::a.b.c.d` as `::ffff:a.b.c.d` and give the IPv4 address.
        expect(normaliseEntry(`::${v4}`)[0]).toMatchObject({
          kind: 'indicator',
          type: 'ipv6',
          value: rfc5952(groups),
        });
        expect(normaliseEntry(`::ffff:${v4}`)[0]).toMatchObject({
          kind: 'indicator',
          type: 'ipv4',
          value: v4,
        });
      }),
      { numRuns: 1000 },
    );
  });

  test('the strict IPv4 pre-check accepts exactly what ipaddr.js isValidFourPartDecimal accepts', () => {
    const part = fc.oneof(
      octet.map(String),
      fc
        .tuple(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 1, max: 4 }))
        .map(([n, width]) => n.toString().padStart(width, '0')),
      fc.integer({ min: 0, max: 255 }).map((n) => `0x${n.toString(16)}`),
      fc.constantFrom('', '256', '1000', '4294967295', ' 1', '1 ', '+1', '-1', '1e2', '٣'),
    );
    const candidate = fc.oneof(
      fc.array(part, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.')),
      fc.tuple(ipv4, fc.constantFrom('.', '..', '.1', '/24', ':80', '\n', '%')).map(([a, b]) => a + b),
      fc.string({ maxLength: 16 }),
    );
    fc.assert(
      fc.property(candidate, (text) => {
        expect(strictIpv4Value(text) >= 0, JSON.stringify(text)).toBe(
          ipaddr.IPv4.isValidFourPartDecimal(text),
        );
        // The normaliser first unwraps and refangs (`1.2.3.4.` is an address at the end of a sentence).
        const cleaned = refangHost(unwrap(text));
        const [outcome] = normaliseEntry(text, 'ip-dst');
        if (ipaddr.IPv4.isValidFourPartDecimal(cleaned))
          expect(outcome).toMatchObject({
            kind: 'indicator',
            type: 'ipv4',
            value: ipaddr.IPv4.parse(cleaned).toString(),
          });
        else if (!cleaned.includes(':'))
          expect(outcome).not.toMatchObject({ kind: 'indicator', type: 'ipv4' });
      }),
      { numRuns: 5000 },
    );
  });

  test('forms ipaddr.js would guess at are rejected: leading zeros, short, hex, zone IDs, lenient tails', () => {
    for (const text of [
      '010.1.1.1',
      '1.1',
      '0x7f.1',
      '127.1',
      '0x7f.0.0.1',
      '1.2.3',
      '4294967295',
      'fe80::1%eth0',
      'fe80::1%1',
      '::ffff:010.1.1.1',
      '::ffff:0x7f.0.0.1',
      '::010.1.1.1',
      '1.2.3.4::',
      '::1.2.3',
      '1::2::3',
    ])
      expect(normaliseEntry(text, 'ip-dst')[0], text).toMatchObject({ kind: 'rejected' });
    for (const text of ['010.1.1.0/24', '::ffff:010.1.1.0/120', 'fe80::%eth0/64'])
      expect(normaliseEntry(text, 'CIDR')[0], text).toMatchObject({ kind: 'rejected', reason: 'bad_cidr' });
  });
});

/** RFC 5952 §4, written independently of the code under test: the longest run (≥ 2) of zero groups, first on ties. */
function rfc5952(groups: readonly number[]): string {
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
  const hexGroups = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hexGroups.join(':');
  return `${hexGroups.slice(0, bestStart).join(':')}::${hexGroups.slice(bestStart + bestLength).join(':')}`;
}
