import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, test } from 'vitest';
import {
  REJECT_REASONS,
  knownTypeHints,
  normaliseEntry,
  parseKey,
  type IocType,
} from '../../src/ioc/index.js';

// Canonical values of every type, built from parts so that they are valid by construction.
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,12}[a-z0-9])?$/);
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

  test('IPv6 text agrees with ipaddr.js RFC 5952 output for any written form', () => {
    fc.assert(
      fc.property(ipv6Groups, fc.boolean(), (groups, upper) => {
        const full = groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
        const written = upper ? full.toUpperCase() : full;
        const [outcome] = normaliseEntry(written);
        expect(outcome).toMatchObject({
          kind: 'indicator',
          type: 'ipv6',
          value: ipaddr.IPv6.parse(full).toRFC5952String(),
        });
      }),
      { numRuns: 2000 },
    );
  });
});
