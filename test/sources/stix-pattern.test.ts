import { describe, expect, test } from 'vitest';
import { parseStixPattern } from '../../src/sources/stix-pattern.js';

describe('STIX patterns', () => {
  test.each([
    ["[ipv4-addr:value = '1.2.3.4']", [['ipv4-addr:value', '1.2.3.4']]],
    ["[ipv6-addr:value = '2001:db8::1']", [['ipv6-addr:value', '2001:db8::1']]],
    ["[file:hashes.'SHA-256' = 'abc']", [["file:hashes.'SHA-256'", 'abc']]],
    ["[file:hashes.MD5 = 'abc']", [['file:hashes.MD5', 'abc']]],
    ["[url:value = 'http://x.example/it\\'s']", [['url:value', "http://x.example/it's"]]],
    ["[email-addr:value = 'a@b.example']", [['email-addr:value', 'a@b.example']]],
    [
      "[domain-name:value = 'a.example' OR domain-name:value = 'b.example'] OR [ipv4-addr:value = '1.1.1.1']",
      [
        ['domain-name:value', 'a.example'],
        ['domain-name:value', 'b.example'],
        ['ipv4-addr:value', '1.1.1.1'],
      ],
    ],
  ])('%s is taken', (pattern, expected) => {
    expect(parseStixPattern(pattern)).toEqual({
      ok: true,
      observables: expected.map(([path, value]) => ({ path, value })),
    });
  });

  test.each([
    ["[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '5.6.7.8']", /AND/],
    ["[ipv4-addr:value = '1.2.3.4'] AND [url:value = 'http://a.example/']", /AND/],
    ["[url:value MATCHES '^http']", /MATCHES/],
    ["[url:value LIKE '%evil%']", /LIKE/],
    ["[ipv4-addr:value ISSUBSET '10.0.0.0/8']", /ISSUBSET/],
    ["[ipv4-addr:value = '1.2.3.4'] WITHIN 300 SECONDS", /WITHIN/],
    ["[ipv4-addr:value = '1.2.3.4'] REPEATS 5 TIMES", /REPEATS/],
    ["[NOT ipv4-addr:value = '1.2.3.4']", /NOT/],
    ["[ipv4-addr:value != '1.2.3.4']", /!=/],
    ["[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [url:value = 'http://a.example/']", /FOLLOWEDBY/],
    ["[process:name = 'evil.exe']", /process:name/],
    ["[ipv4-addr:value = '1.2.3.4'", /expected \]/],
    ['not a pattern', /unexpected|expected/],
  ])('%s is rejected with its reason', (pattern, reason) => {
    const result = parseStixPattern(pattern);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});
