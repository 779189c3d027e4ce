import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { collect } from '../../src/pipeline/collect.js';
import { tempStore } from '../support/store.js';
import { http, sourceFrom } from './support.js';

const NOW = Date.parse('2026-01-15T12:00:00Z');
const at = (iso: string) => Date.parse(iso);

/** One CSV pull into a fresh store at NOW; the sightings' and IOCs' seen times by value. */
async function collectCsv(lines: string[], columns: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'iocflow-csv-'));
  const path = join(dir, 'feed.csv');
  writeFileSync(path, lines.join('\n') + '\n');
  const store = tempStore();
  try {
    const { report } = await collect(sourceFrom('partner', { type: 'csv', path, columns }), store.db, {
      cycleId: 'csv',
      now: () => NOW,
      allowlists: { match: () => undefined },
      http,
    });
    const rows = store.sqlite
      .prepare(
        `select i.value, s.first_seen as sf, s.last_seen as sl, i.first_seen as f, i.last_seen as l
         from sightings s join iocs i on i.id = s.ioc_id order by i.value`,
      )
      .all() as { value: string; sf: number; sl: number; f: number; l: number }[];
    return { report, rows };
  } finally {
    store.close();
  }
}

describe('CSV first-seen and last-seen columns', () => {
  test('dates are kept as the sighting seen times; a bad date costs its row only', async () => {
    const { report, rows } = await collectCsv(
      [
        'indicator,first_seen,last_seen',
        '198.51.100.1,2024-09-02 06:17:52,2024-09-03T10:00:00Z',
        '198.51.100.2,2024-09-01T08:00:00+02:00,',
        '198.51.100.3,yesterday,',
        '198.51.100.4,2024-02-30 00:00:00,',
        '198.51.100.5,2024-09-01,2999-01-01 00:00:00 UTC',
        '198.51.100.6,2024-09-05 00:00:00,2024-09-04 00:00:00',
      ],
      { value: 'indicator', firstSeen: 'first_seen', lastSeen: 'last_seen' },
    );
    expect(report).toMatchObject({ entries: 4, indicators: 4, unreadable: 2 });
    expect(report.problems).toEqual([
      'partner line 4: first seen "yesterday" is not a date (ISO 8601 or YYYY-MM-DD HH:MM:SS UTC)',
      'partner line 5: first seen "2024-02-30 00:00:00" is not a date (ISO 8601 or YYYY-MM-DD HH:MM:SS UTC)',
    ]);
    expect(rows).toEqual([
      // Both dates as given, the abuse.ch form read as UTC.
      {
        value: '198.51.100.1',
        sf: at('2024-09-02T06:17:52Z'),
        sl: at('2024-09-03T10:00:00Z'),
        f: at('2024-09-02T06:17:52Z'),
        l: at('2024-09-03T10:00:00Z'),
      },
      // No last seen: still listed, so seen now; the offset is honoured.
      {
        value: '198.51.100.2',
        sf: at('2024-09-01T06:00:00Z'),
        sl: NOW,
        f: at('2024-09-01T06:00:00Z'),
        l: NOW,
      },
      // A last seen in the future is the pull's time: an IOC seen in the future would never age.
      {
        value: '198.51.100.5',
        sf: at('2024-09-01T00:00:00Z'),
        sl: NOW,
        f: at('2024-09-01T00:00:00Z'),
        l: NOW,
      },
      // First seen after last seen: the first seen is the last seen.
      {
        value: '198.51.100.6',
        sf: at('2024-09-04T00:00:00Z'),
        sl: at('2024-09-04T00:00:00Z'),
        f: at('2024-09-04T00:00:00Z'),
        l: at('2024-09-04T00:00:00Z'),
      },
    ]);
  });

  test('without date columns a sighting is seen at the pull time', async () => {
    const { rows } = await collectCsv(['indicator,first_seen', '198.51.100.7,2024-09-02'], {
      value: 'indicator',
    });
    expect(rows).toEqual([{ value: '198.51.100.7', sf: NOW, sl: NOW, f: NOW, l: NOW }]);
  });

  test('a later pull with an earlier first seen moves it back, never forward', async () => {
    const store = tempStore();
    const dir = mkdtempSync(join(tmpdir(), 'iocflow-csv-'));
    const path = join(dir, 'feed.csv');
    const source = sourceFrom('partner', {
      type: 'csv',
      path,
      columns: { value: 0, firstSeen: 1 },
      header: false,
    });
    const pull = (line: string) => {
      writeFileSync(path, `${line}\n`);
      return collect(source, store.db, {
        cycleId: 'csv',
        now: () => NOW,
        allowlists: { match: () => undefined },
        http,
      });
    };
    const firstSeen = () =>
      (store.sqlite.prepare('select first_seen as f from sightings').get() as { f: number }).f;
    try {
      await pull('198.51.100.8,2024-09-02');
      expect(firstSeen()).toBe(at('2024-09-02T00:00:00Z'));
      await pull('198.51.100.8,2024-08-01');
      expect(firstSeen()).toBe(at('2024-08-01T00:00:00Z'));
      await pull('198.51.100.8,2024-10-01');
      expect(firstSeen()).toBe(at('2024-08-01T00:00:00Z'));
    } finally {
      store.close();
    }
  });
});
