import { existsSync } from 'node:fs';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import {
  allowlistsConfigSchema,
  loadAllowlists,
  normaliseEntry,
  type Allowlists,
  type AllowlistsConfig,
} from '../../src/ioc/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = join(repoRoot, 'test/fixtures/ioc');
const sharedWarninglists = resolve(repoRoot, '../shared/data/warninglists');

/** Normalises the raw value first, as the pipeline does, then asks which list holds it. */
function matchRaw(allowlists: Allowlists, raw: string, typeHint?: string): string | undefined {
  const [outcome] = normaliseEntry(raw, typeHint);
  if (outcome?.kind !== 'indicator') throw new Error(`${raw} did not normalise: ${JSON.stringify(outcome)}`);
  return allowlists.match(outcome);
}

function configuredOnly(lists: NonNullable<AllowlistsConfig['lists']>): Promise<Allowlists> {
  return loadAllowlists({ builtin: false, lists }, { baseDir: fixtures });
}

describe('built-in allowlists', () => {
  const builtins = loadAllowlists(undefined, { baseDir: fixtures });

  test.each([
    ['10.20.30.40', 'builtin-reserved-ipv4'],
    ['172.31.255.1', 'builtin-reserved-ipv4'],
    ['192.168.1.1', 'builtin-reserved-ipv4'],
    ['127.0.0.1', 'builtin-reserved-ipv4'],
    ['169.254.169.254', 'builtin-reserved-ipv4'],
    ['100.64.1.1', 'builtin-reserved-ipv4'],
    ['198.18.0.1', 'builtin-reserved-ipv4'],
    ['192.0.2.10', 'builtin-reserved-ipv4'],
    ['198.51.100.10', 'builtin-reserved-ipv4'],
    ['203.0.113.10', 'builtin-reserved-ipv4'],
    ['224.0.0.251', 'builtin-reserved-ipv4'],
    ['255.255.255.255', 'builtin-reserved-ipv4'],
    ['0.0.0.0', 'builtin-reserved-ipv4'],
    ['10.1.0.0/16', 'builtin-reserved-ipv4'],
    ['::1', 'builtin-reserved-ipv6'],
    ['::', 'builtin-reserved-ipv6'],
    ['fd12:3456::1', 'builtin-reserved-ipv6'],
    ['fe80::1', 'builtin-reserved-ipv6'],
    ['ff02::fb', 'builtin-reserved-ipv6'],
    ['2001:db8::1', 'builtin-reserved-ipv6'],
    ['2001:db8:1::/48', 'builtin-reserved-ipv6'],
    ['3fff::1', 'builtin-reserved-ipv6'],
    ['8.8.8.8', 'builtin-public-dns'],
    ['8.8.4.4', 'builtin-public-dns'],
    ['2001:4860:4860::8888', 'builtin-public-dns'],
    ['1.1.1.1', 'builtin-public-dns'],
    ['1.0.0.1', 'builtin-public-dns'],
    ['2606:4700:4700::1111', 'builtin-public-dns'],
    ['9.9.9.9', 'builtin-public-dns'],
    ['149.112.112.112', 'builtin-public-dns'],
    ['2620:fe::fe', 'builtin-public-dns'],
    ['208.67.222.222', 'builtin-public-dns'],
    ['208.67.220.220', 'builtin-public-dns'],
    ['example.com', 'builtin-special-domains'],
    ['www.example.net', 'builtin-special-domains'],
    ['a.b.example.org', 'builtin-special-domains'],
    ['4.3.2.1.in-addr.arpa', 'builtin-special-domains'],
    ['http://10.0.0.1/admin', 'builtin-reserved-ipv4'],
    ['http://[fe80::1]/x', 'builtin-reserved-ipv6'],
    ['https://www.example.com/login', 'builtin-special-domains'],
    ['phish@example.com', 'builtin-special-domains'],
  ])('%s is held back by %s', async (raw, list) => {
    expect(matchRaw(await builtins, raw)).toBe(list);
  });

  test.each([
    '185.220.101.47',
    '8.8.8.9',
    '2a00:1450::1',
    'evil.com',
    'example.com.evil.net',
    'notexample.com',
    'http://evil.com/x',
    '11.0.0.0/8',
  ])('%s is not held back', async (raw) => {
    expect(matchRaw(await builtins, raw)).toBeUndefined();
  });

  test('a CIDR only partly inside a reserved range is not held back', async () => {
    expect(matchRaw(await builtins, '172.0.0.0/8')).toBeUndefined();
  });

  test('names lists the built-ins in the order they are checked', async () => {
    expect((await builtins).names()).toEqual([
      'builtin-reserved-ipv4',
      'builtin-reserved-ipv6',
      'builtin-public-dns',
      'builtin-special-domains',
    ]);
  });

  test('builtin: false loads none of them', async () => {
    const none = await loadAllowlists({ builtin: false }, { baseDir: fixtures });
    expect(none.names()).toEqual([]);
    expect(matchRaw(none, '10.0.0.1')).toBeUndefined();
  });
});

describe('switching lists off by name', () => {
  test('a built-in switched off in config no longer matches; the others still do', async () => {
    const lists = await loadAllowlists({ off: ['builtin-public-dns'] }, { baseDir: fixtures });
    expect(lists.names()).not.toContain('builtin-public-dns');
    expect(matchRaw(lists, '8.8.8.8')).toBeUndefined();
    expect(matchRaw(lists, '10.0.0.1')).toBe('builtin-reserved-ipv4');
  });

  test('the CLI off option switches off configured lists too', async () => {
    const config: AllowlistsConfig = {
      lists: [{ name: 'ours', format: 'plain', entries: ['evil-but-ours.com'] }],
    };
    expect(matchRaw(await loadAllowlists(config, { baseDir: fixtures }), 'evil-but-ours.com')).toBe('ours');
    const off = await loadAllowlists(config, { baseDir: fixtures, off: ['ours'] });
    expect(off.names()).not.toContain('ours');
    expect(matchRaw(off, 'evil-but-ours.com')).toBeUndefined();
  });

  test('a switched-off list is not even read', async () => {
    const lists = await loadAllowlists(
      { lists: [{ name: 'gone', format: 'misp', path: 'does-not-exist.json' }] },
      { baseDir: fixtures, off: ['gone'] },
    );
    expect(lists.names()).not.toContain('gone');
  });

  test('switching off an unknown name is an error that lists the known names', async () => {
    await expect(loadAllowlists({}, { baseDir: fixtures, off: ['builtin-public-dsn'] })).rejects.toThrow(
      /builtin-public-dsn.*no such list.*builtin-public-dns/,
    );
  });
});

describe('MISP warninglist files', () => {
  test('string lists match exact canonical values and .suffix entries', async () => {
    const lists = await configuredOnly([{ name: 'strings', format: 'misp', path: 'misp-string.json' }]);
    expect(matchRaw(lists, 'd41d8cd98f00b204e9800998ecf8427e')).toBe('strings');
    expect(matchRaw(lists, 'CDN.benign-vendor.com')).toBe('strings');
    expect(matchRaw(lists, 'sub.cdn.benign-vendor.com')).toBeUndefined();
    expect(matchRaw(lists, 'benign-suite.net')).toBe('strings');
    expect(matchRaw(lists, 'mail.benign-suite.net')).toBe('strings');
    expect(matchRaw(lists, 'hxxp://updates[.]benign-vendor[.]com/check')).toBe('strings');
    expect(matchRaw(lists, 'http://updates.benign-vendor.com/other')).toBeUndefined();
    expect(lists.summaries()).toEqual([
      { name: 'strings', origin: join(fixtures, 'misp-string.json'), entries: 4, skipped: 1 },
    ]);
    expect(lists.warnings.join('\n')).toMatch(/strings.*not strings/);
  });

  test('hostname lists match the domain, its subdomains, and the host of a URL', async () => {
    const lists = await configuredOnly([{ name: 'top', format: 'misp', path: 'misp-hostname.json' }]);
    expect(matchRaw(lists, 'popular-site.com')).toBe('top');
    expect(matchRaw(lists, 'www.popular-site.com')).toBe('top');
    expect(matchRaw(lists, 'https://cdn.popular-site.com/app.js')).toBe('top');
    expect(matchRaw(lists, 'popular-site.com.evil.net')).toBeUndefined();
    expect(matchRaw(lists, 'notpopular-site.com')).toBeUndefined();
    expect(lists.summaries()[0]).toMatchObject({ entries: 2, skipped: 1 });
    expect(lists.warnings.join('\n')).toMatch(/top.*skipped 1 of 3.*not a host!/);
  });

  test('match: exact on a top-sites list keeps malicious subdomains of a listed site', async () => {
    const lists = await configuredOnly([
      { name: 'top', format: 'misp', path: 'misp-hostname.json', match: 'exact' },
    ]);
    expect(matchRaw(lists, 'code-hosting.io')).toBe('top');
    expect(matchRaw(lists, 'attacker-pages.code-hosting.io')).toBeUndefined();
    expect(matchRaw(lists, 'https://attacker-pages.code-hosting.io/kit/')).toBeUndefined();
  });

  test('cidr lists match addresses inside and CIDR blocks fully inside, across adjacent blocks', async () => {
    const lists = await configuredOnly([{ name: 'cloud', format: 'misp', path: 'misp-cidr.json' }]);
    expect(matchRaw(lists, '198.51.100.1')).toBe('cloud');
    expect(matchRaw(lists, '198.51.100.200')).toBe('cloud');
    expect(matchRaw(lists, '198.51.100.0/24')).toBe('cloud');
    expect(matchRaw(lists, '198.51.100.0/23')).toBeUndefined();
    expect(matchRaw(lists, '198.51.101.1')).toBeUndefined();
    expect(matchRaw(lists, '203.0.113.50')).toBe('cloud');
    expect(matchRaw(lists, '203.0.113.51')).toBeUndefined();
    expect(matchRaw(lists, '2001:db8:ab12::1')).toBe('cloud');
    expect(matchRaw(lists, '2001:db8:ac00::1')).toBeUndefined();
    expect(lists.summaries()[0]).toMatchObject({ entries: 4, skipped: 1 });
  });

  test('matching_attributes are respected: an IP-only list does not match URLs or domains', async () => {
    const lists = await configuredOnly([{ name: 'cloud', format: 'misp', path: 'misp-cidr.json' }]);
    expect(matchRaw(lists, 'http://198.51.100.1/x')).toBeUndefined();
  });

  test('substring lists match any part of the value', async () => {
    const lists = await configuredOnly([{ name: 'subs', format: 'misp', path: 'misp-substring.json' }]);
    expect(matchRaw(lists, 'contoso-sharepoint-tenant.com')).toBe('subs');
    expect(matchRaw(lists, 'https://evil.com/.well-known/acme')).toBe('subs');
    expect(matchRaw(lists, 'https://evil.com/wellknown')).toBeUndefined();
  });

  test('regex lists match; an invalid regex is skipped with a warning', async () => {
    const lists = await configuredOnly([{ name: 'regexes', format: 'misp', path: 'misp-regex.json' }]);
    expect(matchRaw(lists, 'https://telemetry.vendor.com/ping')).toBe('regexes');
    expect(matchRaw(lists, 'cdn42.benign.org')).toBe('regexes');
    expect(matchRaw(lists, 'cdnx.benign.org')).toBeUndefined();
    expect(lists.summaries()[0]).toMatchObject({ entries: 2, skipped: 1 });
    expect(lists.warnings.join('\n')).toMatch(/regexes.*invalid regex/);
  });

  test('a list whose matching_attributes cover no iocflow type loads with a warning and never matches', async () => {
    const lists = await configuredOnly([{ name: 'ssdeep', format: 'misp', path: 'misp-ssdeep-only.json' }]);
    expect(lists.warnings.join('\n')).toMatch(/ssdeep.*never matches/);
    expect(matchRaw(lists, '3::')).toBeUndefined();
  });

  test('a list can also come from a URL through the injected fetch function', async () => {
    const served = new Map([
      [
        'https://lists.example.net/top.json',
        '{"name":"x","type":"hostname","list":["fetched-site.com"],"matching_attributes":["domain"]}',
      ],
    ]);
    const lists = await loadAllowlists(
      {
        builtin: false,
        lists: [{ name: 'remote', format: 'misp', url: 'https://lists.example.net/top.json' }],
      },
      {
        baseDir: fixtures,
        fetchText: async (url) => served.get(url) ?? Promise.reject(new Error('404 Not Found')),
      },
    );
    expect(matchRaw(lists, 'a.fetched-site.com')).toBe('remote');
    await expect(
      loadAllowlists(
        { lists: [{ name: 'remote', format: 'misp', url: 'https://lists.example.net/gone.json' }] },
        { baseDir: fixtures, fetchText: async () => Promise.reject(new Error('404 Not Found')) },
      ),
    ).rejects.toThrow('allowlist "remote": cannot fetch https://lists.example.net/gone.json: 404 Not Found');
  });
});

describe('plain lists', () => {
  test('a text file holds exact values, .suffix and *.suffix domains, and CIDR blocks', async () => {
    const lists = await configuredOnly([{ name: 'ours', format: 'plain', path: 'plain-list.txt' }]);
    expect(matchRaw(lists, 'corp-internal.com')).toBe('ours');
    expect(matchRaw(lists, 'vpn.eu.corp-internal.com')).toBe('ours');
    expect(matchRaw(lists, 'login.partner-portal.net')).toBe('ours');
    expect(matchRaw(lists, 'mail.partner-sso.org')).toBe('ours');
    expect(matchRaw(lists, 'x.mail.partner-sso.org')).toBeUndefined();
    expect(matchRaw(lists, '198.51.100.99')).toBe('ours');
    expect(matchRaw(lists, '2001:db8:cafe:1::5')).toBe('ours');
    expect(matchRaw(lists, '203.0.113.77')).toBe('ours');
    expect(matchRaw(lists, 'hxxp://status.partner-sso[.]org/health')).toBe('ours');
    expect(matchRaw(lists, 'D41D8CD98F00B204E9800998ECF8427E')).toBe('ours');
    expect(lists.summaries()[0]).toMatchObject({ entries: 8, skipped: 1 });
  });

  test('inline entries with match: suffix make bare domains cover their subdomains', async () => {
    const lists = await configuredOnly([
      { name: 'inline', format: 'plain', entries: ['trusted-vendor.com'], match: 'suffix' },
    ]);
    expect(matchRaw(lists, 'api.trusted-vendor.com')).toBe('inline');
  });

  test('types limits which indicators a list is checked against', async () => {
    const lists = await configuredOnly([
      { name: 'domains-only', format: 'plain', entries: ['.trusted-vendor.com'], types: ['domain'] },
    ]);
    expect(matchRaw(lists, 'api.trusted-vendor.com')).toBe('domains-only');
    expect(matchRaw(lists, 'https://api.trusted-vendor.com/payload.exe')).toBeUndefined();
  });

  test('first match wins, built-ins first', async () => {
    const lists = await loadAllowlists(
      { lists: [{ name: 'ours', format: 'plain', entries: ['10.0.0.0/8', 'evil.com'] }] },
      { baseDir: fixtures },
    );
    expect(matchRaw(lists, '10.1.1.1')).toBe('builtin-reserved-ipv4');
    expect(matchRaw(lists, 'evil.com')).toBe('ours');
  });
});

describe('load errors name the list, the file and the problem', () => {
  test('a missing file', async () => {
    await expect(configuredOnly([{ name: 'top', format: 'misp', path: 'missing.json' }])).rejects.toThrow(
      `allowlist "top": cannot read ${join(fixtures, 'missing.json')}: ENOENT`,
    );
  });

  test('an unreadable file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iocflow-allowlist-'));
    const file = join(dir, 'locked.txt');
    await writeFile(file, 'evil.com\n');
    await chmod(file, 0o000);
    const result = loadAllowlists(
      { builtin: false, lists: [{ name: 'locked', format: 'plain', path: file }] },
      { baseDir: dir },
    );
    if (process.getuid?.() === 0) {
      // root reads any file; the message shape is covered by the missing-file test.
      await expect(result).resolves.toBeDefined();
    } else {
      await expect(result).rejects.toThrow(`allowlist "locked": cannot read ${file}: EACCES`);
    }
  });

  test('a file that is not a MISP warninglist', async () => {
    await expect(
      configuredOnly([{ name: 'broken', format: 'misp', path: 'not-a-warninglist.json' }]),
    ).rejects.toThrow(/allowlist "broken": .*not-a-warninglist\.json: not a MISP warninglist/);
    await expect(configuredOnly([{ name: 'text', format: 'misp', path: 'plain-list.txt' }])).rejects.toThrow(
      /allowlist "text": .*plain-list\.txt: not JSON/,
    );
  });

  test('a url without a fetch function', async () => {
    await expect(
      configuredOnly([{ name: 'remote', format: 'plain', url: 'https://lists.example.net/a.txt' }]),
    ).rejects.toThrow(/remote.*needs a fetchText/);
  });

  test('invalid config is rejected with the path of the problem', async () => {
    await expect(
      loadAllowlists({ lists: [{ name: 'x', format: 'plain' }] }, { baseDir: fixtures }),
    ).rejects.toThrow(/allowlists config is invalid.*exactly one of path, url or entries/);
    await expect(
      loadAllowlists(
        { lists: [{ name: 'builtin-public-dns', format: 'plain', entries: [] }] },
        { baseDir: fixtures },
      ),
    ).rejects.toThrow(/two lists are named/);
  });

  test('the schema fills in defaults', () => {
    expect(allowlistsConfigSchema.parse({})).toEqual({ builtin: true, lists: [], off: [] });
  });
});

describe.skipIf(!existsSync(sharedWarninglists))(
  'real MISP warninglists from ../shared/data/warninglists',
  () => {
    test('rfc1918, public-dns-v4 and tranco10k load and match', async () => {
      const lists = await loadAllowlists(
        {
          builtin: false,
          lists: [
            { name: 'rfc1918', format: 'misp', path: 'rfc1918.json' },
            { name: 'public-dns-v4', format: 'misp', path: 'public-dns-v4.json' },
            { name: 'tranco10k', format: 'misp', path: 'tranco10k.json' },
          ],
        },
        { baseDir: sharedWarninglists },
      );
      expect(lists.warnings).toEqual([]);
      expect(lists.summaries().map((s) => s.skipped)).toEqual([0, 0, 0]);
      expect(lists.summaries()[1]!.entries).toBeGreaterThan(10_000);
      expect(matchRaw(lists, '192.168.10.1')).toBe('rfc1918');
      expect(matchRaw(lists, '8.8.8.8')).toBe('public-dns-v4');
      expect(matchRaw(lists, 'www.google.com')).toBe('tranco10k');
      expect(matchRaw(lists, 'definitely-not-popular-4f3a9c.com')).toBeUndefined();
    });
  },
);
