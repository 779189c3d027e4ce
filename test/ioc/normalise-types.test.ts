import { describe, expect, test } from 'vitest';
import { normaliseEntry, type NormaliseOutcome } from '../../src/ioc/index.js';

function only(raw: string, typeHint?: string): NormaliseOutcome {
  const outcomes = normaliseEntry(raw, typeHint);
  expect(outcomes).toHaveLength(1);
  return outcomes[0]!;
}

function accepted(raw: string, typeHint?: string): { type: string; value: string; port?: number } {
  const outcome = only(raw, typeHint);
  if (outcome.kind !== 'indicator')
    throw new Error(`${raw} rejected: ${outcome.reason} ${outcome.detail ?? ''}`);
  expect(outcome.key).toBe(`${outcome.type}:${outcome.value}`);
  return outcome.context?.port === undefined
    ? { type: outcome.type, value: outcome.value }
    : { type: outcome.type, value: outcome.value, port: outcome.context.port };
}

describe('every type is detected and canonicalised without a hint', () => {
  test.each([
    ['185.220.101.47', 'ipv4', '185.220.101.47'],
    ['  185.220.101.47  ', 'ipv4', '185.220.101.47'],
    ['2001:DB8:0:0:0:0:0:1', 'ipv6', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', 'ipv6', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', 'ipv6', '2001:db8:0:1:1:1:1:1'],
    ['fe80:0:0:1::', 'ipv6', 'fe80:0:0:1::'],
    ['::ffff:198.51.100.7', 'ipv4', '198.51.100.7'],
    ['::FFFF:c633:6407', 'ipv4', '198.51.100.7'],
    ['::198.51.100.7', 'ipv6', '::c633:6407'],
    ['192.0.2.77/24', 'cidr', '192.0.2.0/24'],
    ['2001:db8::77/48', 'cidr', '2001:db8::/48'],
    ['203.0.113.9/32', 'ipv4', '203.0.113.9'],
    ['2001:db8::9/128', 'ipv6', '2001:db8::9'],
    ['Evil-Domain.COM.', 'domain', 'evil-domain.com'],
    ['bücher.de', 'domain', 'xn--bcher-kva.de'],
    ['xn--bcher-kva.de', 'domain', 'xn--bcher-kva.de'],
    ['foo.blogspot.com', 'domain', 'foo.blogspot.com'],
    ['github.io', 'domain', 'github.io'],
    ['HTTPS://Evil.COM', 'url', 'https://evil.com/'],
    ['http://evil.com:80/a', 'url', 'http://evil.com/a'],
    ['https://evil.com:443/a', 'url', 'https://evil.com/a'],
    ['https://evil.com:8443/a', 'url', 'https://evil.com:8443/a'],
    ['http://evil.com/a/../b/%7e?q=%20x&y=%41#frag', 'url', 'http://evil.com/a/../b/%7e?q=%20x&y=%41'],
    ['http://evil.com?q=1', 'url', 'http://evil.com/?q=1'],
    ['http://user:Secret@Evil.com/login', 'url', 'http://user:Secret@evil.com/login'],
    ['http://[2001:DB8::1]:8080/x', 'url', 'http://[2001:db8::1]:8080/x'],
    ['http://[::ffff:192.0.2.1]/x', 'url', 'http://192.0.2.1/x'],
    ['ftp://files.evil.com/payload.bin', 'url', 'ftp://files.evil.com/payload.bin'],
    ['sftp://evil.com:22/x', 'url', 'sftp://evil.com/x'],
    ['http://bücher.de/Pfad', 'url', 'http://xn--bcher-kva.de/Pfad'],
    ['www.evil.com/dropper.exe', 'url', 'http://www.evil.com/dropper.exe'],
    ['D41D8CD98F00B204E9800998ECF8427E', 'md5', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['DA39A3EE5E6B4B0D3255BFEF95601890AFD80709', 'sha1', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    [
      'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855',
      'sha256',
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    ],
    ['John.Doe@Evil-Mail.COM', 'email', 'John.Doe@evil-mail.com'],
    ['mailto:ops@evil.com', 'email', 'ops@evil.com'],
  ])('%s → %s %s', (raw, type, value) => {
    expect(accepted(raw)).toEqual({ type, value });
  });

  test.each([
    ['198.51.100.7:8080', 'ipv4', '198.51.100.7', 8080],
    ['[2001:db8::1]:443', 'ipv6', '2001:db8::1', 443],
    ['evil.com:8443', 'domain', 'evil.com', 8443],
  ])('a port is split off into the context: %s', (raw, type, value, port) => {
    expect(accepted(raw)).toEqual({ type, value, port });
  });
});

describe('every defang style is refanged', () => {
  test.each([
    ['evil[.]com', 'domain', 'evil.com'],
    ['evil(.)com', 'domain', 'evil.com'],
    ['evil{.}com', 'domain', 'evil.com'],
    ['evil[dot]com', 'domain', 'evil.com'],
    ['evil(dot)com', 'domain', 'evil.com'],
    ['evil{DOT}com', 'domain', 'evil.com'],
    ['evil dot com', 'domain', 'evil.com'],
    ['evil DOT com', 'domain', 'evil.com'],
    ['evil[ . ]com', 'domain', 'evil.com'],
    ['evil [.] com', 'domain', 'evil.com'],
    ['evil\\.com', 'domain', 'evil.com'],
    ['evil\uFF0Ecom', 'domain', 'evil.com'],
    ['evil\u3002com', 'domain', 'evil.com'],
    ['evil\uFF61com', 'domain', 'evil.com'],
    ['198[.]51[.]100[.]7', 'ipv4', '198.51.100.7'],
    ['198.51.100[.]7[:]8080', 'ipv4', '198.51.100.7'],
    ['hxxp://evil[.]com/a', 'url', 'http://evil.com/a'],
    ['hXXp://evil.com/a', 'url', 'http://evil.com/a'],
    ['hxxps://evil.com/a', 'url', 'https://evil.com/a'],
    ['HXXPS://evil.com/a', 'url', 'https://evil.com/a'],
    ['hxxxp://evil.com/a', 'url', 'http://evil.com/a'],
    ['fxp://evil.com/a', 'url', 'ftp://evil.com/a'],
    ['http[:]//evil.com/a', 'url', 'http://evil.com/a'],
    ['http[://]evil.com/a', 'url', 'http://evil.com/a'],
    ['hxxps[:]//evil[.]com[:]8443/a', 'url', 'https://evil.com:8443/a'],
    ['user[@]evil.com', 'email', 'user@evil.com'],
    ['user[at]evil[dot]com', 'email', 'user@evil.com'],
    ['user(at)evil.com', 'email', 'user@evil.com'],
    ['"evil.com"', 'domain', 'evil.com'],
    ["'evil.com'", 'domain', 'evil.com'],
    ['<http://evil.com/a>', 'url', 'http://evil.com/a'],
    ['[evil.com]', 'domain', 'evil.com'],
    ['(evil.com)', 'domain', 'evil.com'],
    ['evil.com.', 'domain', 'evil.com'],
    ['evil.com,', 'domain', 'evil.com'],
    ['evil.com;', 'domain', 'evil.com'],
    ['"evil.com";', 'domain', 'evil.com'],
    ['http://evil.com/a.', 'url', 'http://evil.com/a'],
    ['http://evil.com/a.#x', 'url', 'http://evil.com/a'],
    ['198.51.100.7:', 'ipv4', '198.51.100.7'],
  ])('%s → %s %s', (raw, type, value) => {
    expect(accepted(raw)).toMatchObject({ type, value });
  });

  test('a URL path is kept byte-exact, defang-looking text included', () => {
    expect(accepted('hxxp://evil[.]com/a[.]php?x=(dot)')).toEqual({
      type: 'url',
      value: 'http://evil.com/a[.]php?x=(dot)',
    });
  });

  test('IPv6 ending in :: keeps its colons', () => {
    expect(accepted('2001:db8::')).toEqual({ type: 'ipv6', value: '2001:db8::' });
  });
});

describe('type hints from MISP, OTX, STIX and abuse.ch map onto one table', () => {
  const md5 = 'd41d8cd98f00b204e9800998ecf8427e';
  const sha1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
  const sha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  test.each([
    // MISP
    ['ip-dst', '198.51.100.7', 'ipv4', '198.51.100.7'],
    ['ip-src', '2001:db8::1', 'ipv6', '2001:db8::1'],
    ['ip-dst', '198.51.100.7/24', 'cidr', '198.51.100.0/24'],
    ['hostname', 'mail.evil.com', 'domain', 'mail.evil.com'],
    ['domain', 'evil[.]com', 'domain', 'evil.com'],
    ['url', 'hxxp://evil.com/x', 'url', 'http://evil.com/x'],
    ['uri', 'http://evil.com/x', 'url', 'http://evil.com/x'],
    ['md5', md5.toUpperCase(), 'md5', md5],
    ['sha1', sha1, 'sha1', sha1],
    ['sha256', sha256, 'sha256', sha256],
    ['email', 'a@evil.com', 'email', 'a@evil.com'],
    ['email-src', 'a@evil.com', 'email', 'a@evil.com'],
    ['email-dst', 'a@evil.com', 'email', 'a@evil.com'],
    // OTX
    ['IPv4', '198.51.100.7', 'ipv4', '198.51.100.7'],
    ['IPv6', '2001:db8::1', 'ipv6', '2001:db8::1'],
    ['domain', 'evil.com', 'domain', 'evil.com'],
    ['hostname', 'a.evil.com', 'domain', 'a.evil.com'],
    ['URL', 'http://evil.com/x', 'url', 'http://evil.com/x'],
    ['URI', 'http://evil.com/x', 'url', 'http://evil.com/x'],
    ['FileHash-MD5', md5, 'md5', md5],
    ['FileHash-SHA1', sha1, 'sha1', sha1],
    ['FileHash-SHA256', sha256, 'sha256', sha256],
    ['CIDR', '198.51.100.0/24', 'cidr', '198.51.100.0/24'],
    // STIX 2.1 pattern paths
    ['ipv4-addr:value', '198.51.100.7', 'ipv4', '198.51.100.7'],
    ['ipv6-addr:value', '2001:db8::1', 'ipv6', '2001:db8::1'],
    ['domain-name:value', 'evil.com', 'domain', 'evil.com'],
    ['url:value', 'http://evil.com/x', 'url', 'http://evil.com/x'],
    ['file:hashes.MD5', md5, 'md5', md5],
    ["file:hashes.'SHA-1'", sha1, 'sha1', sha1],
    ["file:hashes.'SHA-256'", sha256, 'sha256', sha256],
    ['email-addr:value', 'a@evil.com', 'email', 'a@evil.com'],
    // abuse.ch and generic
    ['ip', '198.51.100.7', 'ipv4', '198.51.100.7'],
    ['url', 'http://evil.com/x', 'url', 'http://evil.com/x'],
    ['domain', 'evil.com', 'domain', 'evil.com'],
    ['md5_hash', md5, 'md5', md5],
    ['sha256_hash', sha256, 'sha256', sha256],
  ])('%s %s → %s %s', (hint, raw, type, value) => {
    expect(accepted(raw, hint)).toEqual({ type, value });
  });

  test('ip:port keeps the port in the context', () => {
    expect(accepted('198.51.100.7:4444', 'ip:port')).toEqual({
      type: 'ipv4',
      value: '198.51.100.7',
      port: 4444,
    });
  });

  test('ip-dst|port gives the IP with the port in the context', () => {
    expect(accepted('198.51.100.7|8080', 'ip-dst|port')).toEqual({
      type: 'ipv4',
      value: '198.51.100.7',
      port: 8080,
    });
    expect(accepted('2001:db8::1|443', 'ip-src|port')).toEqual({
      type: 'ipv6',
      value: '2001:db8::1',
      port: 443,
    });
  });

  test('hostname|port gives the domain with the port in the context', () => {
    expect(accepted('c2.evil.com|8443', 'hostname|port')).toEqual({
      type: 'domain',
      value: 'c2.evil.com',
      port: 8443,
    });
  });

  test('domain|ip gives a domain and an IP', () => {
    const outcomes = normaliseEntry('c2.evil[.]com|198.51.100.7', 'domain|ip');
    expect(outcomes.map((o) => (o.kind === 'indicator' ? o.key : o.reason))).toEqual([
      'domain:c2.evil.com',
      'ipv4:198.51.100.7',
    ]);
  });

  test('domain|ip rejects its halves independently', () => {
    const outcomes = normaliseEntry('c2.evil.com|010.1.1.1', 'domain|ip');
    expect(outcomes.map((o) => (o.kind === 'indicator' ? o.key : o.reason))).toEqual([
      'domain:c2.evil.com',
      'bad_ip',
    ]);
  });

  test.each([
    ['filename|md5', md5, 'md5'],
    ['filename|sha1', sha1, 'sha1'],
    ['filename|sha256', sha256, 'sha256'],
  ])('%s gives only the hash, with the file name in the context', (hint, hash, type) => {
    const outcomes = normaliseEntry(`invoice.pdf.exe|${hash.toUpperCase()}`, hint);
    expect(outcomes).toEqual([
      {
        kind: 'indicator',
        type,
        value: hash,
        key: `${type}:${hash}`,
        context: { filename: 'invoice.pdf.exe' },
      },
    ]);
  });

  test('a MISP link is not an indicator', () => {
    expect(only('https://blog.example.net/report', 'link')).toMatchObject({
      kind: 'rejected',
      reason: 'not_an_indicator',
    });
  });

  test('an unknown type name is rejected', () => {
    expect(only('evil.com', 'mutex')).toMatchObject({ kind: 'rejected', reason: 'unknown_type' });
  });

  test('an empty hint means no hint', () => {
    expect(accepted('evil.com', '')).toEqual({ type: 'domain', value: 'evil.com' });
  });

  test('a url hint accepts host/path without a scheme, but not a bare host', () => {
    expect(accepted('evil.com/gate.php', 'url')).toEqual({ type: 'url', value: 'http://evil.com/gate.php' });
    expect(only('evil.com', 'url')).toMatchObject({ kind: 'rejected', reason: 'bad_url' });
  });
});

describe('a hint that contradicts the value is rejected, never re-typed', () => {
  test.each([
    ['d41d8cd98f00b204e9800998ecf8427e', 'sha256', 'bad_hash_length'],
    ['e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'md5', 'bad_hash_length'],
    ['zz1d8cd98f00b204e9800998ecf8427e', 'md5', 'bad_hash'],
    ['2001:db8::1', 'IPv4', 'bad_ip'],
    ['198.51.100.7', 'IPv6', 'bad_ip'],
    ['198.51.100.7', 'domain', 'bad_domain'],
    ['evil.com', 'ip-dst', 'bad_ip'],
    ['http://evil.com/', 'domain', 'bad_domain'],
    ['evil.com', 'email', 'bad_email'],
    ['198.51.100.7', 'CIDR', 'bad_cidr'],
    ['evil.com', 'md5', 'bad_hash'],
  ])('%s as %s → %s', (raw, hint, reason) => {
    expect(only(raw, hint)).toMatchObject({ kind: 'rejected', reason });
  });
});

describe('every reject reason', () => {
  test.each([
    ['', undefined, 'empty'],
    ['  \t ', undefined, 'empty'],
    ['""', undefined, 'empty'],
    ['hello', undefined, 'unknown_type'],
    ['evil.com/no-scheme', undefined, 'unknown_type'],
    ['x', 'mutex', 'unknown_type'],
    ['d41d8cd98f00b204e9800998ecf8427e00', undefined, 'bad_hash_length'],
    ['d41d8cd98f00b204e9800998ecf8427e', 'sha1', 'bad_hash_length'],
    ['g41d8cd98f00b204e9800998ecf8427e', 'md5', 'bad_hash'],
    ['010.1.1.1', undefined, 'bad_ip'],
    ['1.1', undefined, 'bad_ip'],
    ['0x7f.1', undefined, 'bad_ip'],
    ['0x7f.0.0.1', undefined, 'bad_ip'],
    ['256.1.1.1', undefined, 'bad_ip'],
    ['1.2.3.4.5', undefined, 'bad_ip'],
    ['2001:db8::1::2', undefined, 'bad_ip'],
    ['fe80::1%eth0', undefined, 'bad_ip'],
    ['2001:db8:0:0:0:0:0:0:1', undefined, 'bad_ip'],
    ['198.51.100.0/33', undefined, 'bad_cidr'],
    ['2001:db8::/129', undefined, 'bad_cidr'],
    ['198.51.100.0/024', undefined, 'bad_cidr'],
    ['0.0.0.0/0', undefined, 'bad_cidr'],
    ['1.0.0.0/7', undefined, 'bad_cidr'],
    ['evil.notatld', undefined, 'invalid_tld'],
    ['printer.local', undefined, 'invalid_tld'],
    ['co.uk', undefined, 'bad_domain'],
    ['evil..com', undefined, 'bad_domain'],
    ['-evil.com', undefined, 'bad_domain'],
    ['evil_host.com', undefined, 'bad_domain'],
    [`${'a'.repeat(64)}.com`, undefined, 'bad_domain'],
    [`${'abcdefghi.'.repeat(26)}com`, undefined, 'bad_domain'],
    ['xn--zz.com', undefined, 'bad_domain'],
    ['http://evil.com:99999/', undefined, 'bad_port'],
    ['198.51.100.7:0', undefined, 'bad_port'],
    ['http://', undefined, 'bad_domain'],
    ['http://evil.com/a b', undefined, 'bad_url'],
    ['http://2001:db8::1/', undefined, 'bad_url'],
    ['evil.com', 'url', 'bad_url'],
    ['javascript://evil.com/', undefined, 'bad_scheme'],
    ['tcp://198.51.100.7:4444', undefined, 'bad_scheme'],
    ['http://evil.notatld/', undefined, 'invalid_tld'],
    ['http://010.1.1.1/', undefined, 'bad_ip'],
    ['a..b@evil.com', undefined, 'bad_email'],
    ['@evil.com', undefined, 'bad_email'],
    ['a@198.51.100.7', undefined, 'bad_email'],
    ['a@evil.notatld', undefined, 'invalid_tld'],
    ['x'.repeat(8193), undefined, 'too_long'],
    ['http://blog.example.net/', 'link', 'not_an_indicator'],
    ['evil.com|1.2.3.4', 'hostname|port', 'bad_port'],
    ['evil.com', 'domain|ip', 'bad_composite'],
  ])('%j (hint %s) → %s', (raw, hint, reason) => {
    const outcome = only(raw, hint);
    expect(outcome).toMatchObject({ kind: 'rejected', reason });
    if (outcome.kind === 'rejected' && reason !== 'empty') expect(outcome.detail).toBeTruthy();
  });

  test('every reason in REJECT_REASONS is produced by some input above', async () => {
    const { REJECT_REASONS } = await import('../../src/ioc/index.js');
    const produced = new Set(
      [
        [''],
        ['hello'],
        ['d41d8cd98f00b204e9800998ecf8427e00'],
        ['g41d8cd98f00b204e9800998ecf8427e', 'md5'],
        ['010.1.1.1'],
        ['1.0.0.0/7'],
        ['evil.notatld'],
        ['co.uk'],
        ['http://evil.com/a b'],
        ['a..b@evil.com'],
        ['x'.repeat(9000)],
        ['x', 'link'],
        ['1.2.3.4:0'],
        ['gopher://evil.com/'],
        ['evil.com', 'domain|ip'],
      ].flatMap(([raw, hint]) =>
        normaliseEntry(raw!, hint).map((o) => (o.kind === 'rejected' ? o.reason : 'accepted')),
      ),
    );
    expect([...REJECT_REASONS].filter((reason) => !produced.has(reason))).toEqual([]);
  });

  test('a non-string value is rejected, not thrown on', () => {
    expect(normaliseEntry(undefined as unknown as string)).toEqual([
      { kind: 'rejected', reason: 'empty', detail: 'value is not a string' },
    ]);
  });
});
