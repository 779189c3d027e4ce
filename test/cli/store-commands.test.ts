import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { scoreAndRecord } from '../../src/pipeline/score.js';
import { stixIndicatorId } from '../../src/sinks/stix-indicator.js';
import { openStore, recordSightings } from '../../src/store/index.js';
import { sighting } from '../support/store.js';
import { iocflow } from './run.js';

const DAY = 86_400_000;
const NOW = Date.now();

/** RFC 4180 reader: quoted fields may hold commas, doubled quotes and line breaks; records end in CRLF. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || record.length > 0)
    throw new Error(`CSV does not end in CRLF: ${JSON.stringify(field)}`);
  return records;
}

interface Match {
  key: string;
  score: number | null;
  severity: string | null;
  sources: string[];
  tags: string[];
  lastSeen: string;
}

describe('search and export read the store', () => {
  let file: string;
  let dir: string;
  const tricky = 'loader, "stage2"';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'iocflow-cli-'));
    file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      [
        'store:\n  path: iocflow.db',
        'sources:',
        '  feed:\n    type: plain\n    path: feed.txt\n    reliability: 90',
        '  community:\n    type: plain\n    path: community.txt\n    reliability: 40',
        'sinks:\n  out:\n    type: file\n    path: out.jsonl\n',
      ].join('\n'),
    );
    const { config } = loadConfig(file, {});
    const store = openStore(config.store.path);
    const fresh = NOW - 3_600_000;
    recordSightings(
      store.db,
      [
        sighting('ipv4', '91.92.109.43', 'feed', { tags: ['c2'], seenAt: fresh }),
        sighting('ipv4', '91.92.109.43', 'community', { tags: ['scanner'], seenAt: fresh }),
        sighting('domain', 'paste-relay.ru', 'feed', { tags: ['c2', tricky], seenAt: fresh }),
        sighting('sha256', 'a'.repeat(64), 'community', { tags: ['Phishing'], seenAt: fresh }),
        sighting('ipv4', '203.0.113.77', 'feed', {
          tags: ['c2'],
          allowlist: 'builtin-reserved',
          seenAt: fresh,
        }),
        // Seen and scored 40 days ago: its 30-day lifetime ended since, though no cycle has aged it yet.
        sighting('ipv4', '45.61.49.78', 'feed', { tags: ['c2'], seenAt: NOW - 40 * DAY }),
      ],
      'c1',
    );
    for (const key of [
      'ipv4:91.92.109.43',
      'domain:paste-relay.ru',
      `sha256:${'a'.repeat(64)}`,
      'ipv4:203.0.113.77',
    ])
      scoreAndRecord(store.db, config, key, 'c1', NOW);
    scoreAndRecord(store.db, config, 'ipv4:45.61.49.78', 'c0', NOW - 40 * DAY + 3_600_000);
    // Stored, never scored.
    recordSightings(
      store.db,
      [sighting('url', 'http://dropper.example.org/x', 'community', { seenAt: fresh })],
      'c1',
    );
    store.close();
  });

  const search = async (...args: string[]) => {
    const result = await iocflow(['search', '--json', '-c', file, ...args]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as Match[];
  };

  test('search --json: every filter narrows the set, highest score first, unscored last', async () => {
    const all = await search();
    expect(all.map((m) => m.key)).toEqual([
      'ipv4:91.92.109.43',
      'domain:paste-relay.ru',
      'ipv4:45.61.49.78',
      `sha256:${'a'.repeat(64)}`,
      'ipv4:203.0.113.77',
      'url:http://dropper.example.org/x',
    ]);
    expect(all[0]).toMatchObject({
      score: 90,
      severity: 'critical',
      sources: ['community', 'feed'],
      tags: ['c2', 'scanner'],
    });
    expect(all.at(-1)).toMatchObject({ score: null, severity: null });
    const scores = all.map((m) => m.score).filter((s): s is number => s !== null);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));

    const [byType, bySource, byTag, byCaseTag, high, low, combined, limited] = await Promise.all([
      search('--type', 'ipv4'),
      search('--source', 'community'),
      search('--tag', tricky),
      search('--tag', 'phishing'),
      search('--min-score', '70'),
      search('--max-score', '30'),
      search('--type', 'ipv4', '--source', 'feed', '--tag', 'c2', '--min-score', '50'),
      search('--limit', '2'),
    ]);
    expect(byType.map((m) => m.key)).toEqual(['ipv4:91.92.109.43', 'ipv4:45.61.49.78', 'ipv4:203.0.113.77']);
    expect(bySource.map((m) => m.key).sort()).toEqual(
      ['ipv4:91.92.109.43', `sha256:${'a'.repeat(64)}`, 'url:http://dropper.example.org/x'].sort(),
    );
    expect(byTag.map((m) => m.key)).toEqual(['domain:paste-relay.ru']);
    expect(byCaseTag.map((m) => m.key)).toEqual([`sha256:${'a'.repeat(64)}`]);
    expect(high.every((m) => m.score !== null && m.score >= 70)).toBe(true);
    expect(high.map((m) => m.key)).toContain('ipv4:91.92.109.43');
    expect(low.every((m) => m.score !== null && m.score <= 30)).toBe(true);
    expect(low.map((m) => m.key)).toContain('ipv4:203.0.113.77');
    expect(combined.map((m) => m.key)).toEqual(['ipv4:91.92.109.43', 'ipv4:45.61.49.78']);
    expect(limited).toHaveLength(2);
  });

  test('search: a filter value that looks like SQL is only a value; bad options exit 2', async () => {
    expect(await search('--source', "feed' OR 1=1 --")).toEqual([]);
    expect(await search('--tag', "c2') OR ('1'='1")).toEqual([]);
    const bad = await iocflow(['search', '--min-score', '101', '-c', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--min-score');
    const crossed = await iocflow(['search', '--min-score', '80', '--max-score', '20', '-c', file]);
    expect(crossed.code).toBe(2);
  });

  /** The high-confidence set by default: scored ≥ 70, alive, never allowlisted. */
  const expected = ['ipv4:91.92.109.43', 'domain:paste-relay.ru'];

  test('export jsonl: one object per live high-confidence IOC; expired, allowlisted and low scores left out', async () => {
    const result = await iocflow(['export', '-c', file]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('exported 2 IOCs');
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => `${String(l.type)}:${String(l.value)}`).sort()).toEqual([...expected].sort());
    const ip = lines.find((l) => l.value === '91.92.109.43')!;
    expect(ip).toEqual({
      type: 'ipv4',
      value: '91.92.109.43',
      score: 90,
      severity: 'critical',
      confidence: expect.any(Number) as number,
      sources: ['community', 'feed'],
      tags: ['c2', 'scanner'],
      first_seen: new Date(NOW - 3_600_000).toISOString(),
      last_seen: new Date(NOW - 3_600_000).toISOString(),
      valid_until: new Date(NOW - 3_600_000 + 30 * DAY).toISOString(),
    });
    const lower = await iocflow(['export', '--min-score', '0', '-c', file]);
    const keys = lower.stdout
      .trim()
      .split('\n')
      .map((l) => {
        const r = JSON.parse(l) as { type: string; value: string };
        return `${r.type}:${r.value}`;
      });
    expect(keys).toContain(`sha256:${'a'.repeat(64)}`);
    expect(keys).not.toContain('ipv4:45.61.49.78');
    expect(keys).not.toContain('ipv4:203.0.113.77');
    expect(keys).not.toContain('url:http://dropper.example.org/x');
  });

  test('export csv: a header row and RFC 4180 quoting that reads back to the same values', async () => {
    const out = join(dir, 'set.csv');
    const result = await iocflow(['export', '--format', 'csv', '--output', out, '-c', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(existsSync(`${out}.partial`)).toBe(false);
    const [header, ...rows] = parseCsv(readFileSync(out, 'utf8'));
    expect(header).toEqual([
      'type',
      'value',
      'score',
      'severity',
      'confidence',
      'sources',
      'tags',
      'first_seen',
      'last_seen',
      'valid_until',
    ]);
    const records = rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]])));
    expect(records.map((r) => `${r.type}:${r.value}`).sort()).toEqual([...expected].sort());
    const domain = records.find((r) => r.value === 'paste-relay.ru')!;
    expect(domain.tags!.split(';')).toEqual(['c2', tricky]);
    expect(domain.sources).toBe('feed');
    expect(Number(domain.score)).toBeGreaterThanOrEqual(70);
    expect(domain.valid_until).toBe(new Date(NOW - 3_600_000 + 90 * DAY).toISOString());
  });

  test('export stix: a STIX 2.1 bundle of indicators with the ids the Sentinel sink uses', async () => {
    const [first, second] = await Promise.all([
      iocflow(['export', '--format', 'stix', '-c', file]),
      iocflow(['export', '--format', 'stix', '--min-score', '70', '-c', file]),
    ]);
    expect(first.code).toBe(0);
    const bundle = JSON.parse(first.stdout) as {
      type: string;
      id: string;
      objects: Record<string, unknown>[];
    };
    expect(bundle.type).toBe('bundle');
    expect(bundle.id).toMatch(/^bundle--[0-9a-f-]{36}$/);
    expect(bundle.objects).toHaveLength(2);
    const ip = bundle.objects.find((o) => o.name === '91.92.109.43')!;
    expect(ip).toMatchObject({
      type: 'indicator',
      spec_version: '2.1',
      id: stixIndicatorId('ipv4:91.92.109.43'),
      pattern: "[ipv4-addr:value = '91.92.109.43']",
      pattern_type: 'stix',
      valid_from: new Date(NOW - 3_600_000).toISOString(),
      valid_until: new Date(NOW - 3_600_000 + 30 * DAY).toISOString(),
      confidence: expect.any(Number) as number,
      labels: ['community', 'feed', 'c2', 'scanner'],
    });
    expect(bundle.objects.find((o) => o.name === 'paste-relay.ru')).toMatchObject({
      id: stixIndicatorId('domain:paste-relay.ru'),
      pattern: "[domain-name:value = 'paste-relay.ru']",
    });
    // Stable per IOC: a second export names the same objects.
    const again = JSON.parse(second.stdout) as { objects: { id: string }[] };
    expect(again.objects.map((o) => o.id).sort()).toEqual(bundle.objects.map((o) => o.id).sort());
  });

  test('config check --json lists sources and sinks; a broken config, or a feed file that is not there, gives its problems and exits 2', async () => {
    const missing = await iocflow(['config', 'check', '--json', '-c', file]);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toMatchObject({
      ok: false,
      problems: [
        `sources.feed.path: no such file: ${join(dir, 'feed.txt')}`,
        `sources.community.path: no such file: ${join(dir, 'community.txt')}`,
      ],
    });
    for (const feed of ['feed.txt', 'community.txt']) writeFileSync(join(dir, feed), '');
    const ok = await iocflow(['config', 'check', '--json', '-c', file]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({
      file,
      ok: true,
      sources: [
        { name: 'feed', type: 'plain', enabled: true },
        { name: 'community', type: 'plain', enabled: true },
      ],
      sinks: [{ name: 'out', type: 'file', enabled: true }],
    });
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'sources:\n  x:\n    type: plain\n    paht: a\n');
    const bad = await iocflow(['config', 'check', '--json', '-c', broken]);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      file: broken,
      ok: false,
      problems: expect.arrayContaining(["sources.x: unknown key 'paht'"]) as string[],
    });
  });
});
