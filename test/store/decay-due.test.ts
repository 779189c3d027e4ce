import { describe, expect, test } from 'vitest';
import { configSchema } from '../../src/config/index.js';
import { decayScores } from '../../src/pipeline/decay.js';
import { scoreAndRecord } from '../../src/pipeline/score.js';
import { findIoc, recordSightings } from '../../src/store/index.js';
import { sighting, tempStore } from '../support/store.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-11-01T00:00:00Z');

const config = configSchema.parse({
  sources: {
    feed: { type: 'plain', path: 'feed.txt', reliability: 90 },
    other: { type: 'plain', path: 'other.txt', reliability: 60 },
  },
  sinks: { out: { type: 'file', path: 'out.jsonl' } },
});

// An IP (30-day lifetime) and a hash (365 days) from a source the model trusts at 77, scored at T0.
function scoredStore() {
  const store = tempStore();
  const seen = [
    sighting('ipv4', '45.155.205.233', 'feed', { seenAt: T0 }),
    sighting('sha256', 'a'.repeat(64), 'feed', { seenAt: T0 }),
  ];
  recordSightings(store.db, seen, 'c0');
  for (const s of seen) scoreAndRecord(store.db, config, s.key, 'c0', T0);
  return store;
}

describe('the decay step evaluates only the IOCs whose check is due', () => {
  test('nothing right after scoring; the IP once ageing can have moved it; the hash not for months', () => {
    const store = scoredStore();
    expect(decayScores(store.db, config, 'c1', T0 + 4 * HOUR)).toEqual({
      checked: 0,
      rescored: 0,
      expired: 0,
    });
    // 76.5 × (1 − (age/30d)²) reaches 72 (5 points down) after about 7 days.
    expect(decayScores(store.db, config, 'c2', T0 + 5 * DAY).checked).toBe(0);
    const week = decayScores(store.db, config, 'c3', T0 + 8 * DAY);
    expect(week).toEqual({ checked: 1, rescored: 1, expired: 0 });
    expect(findIoc(store.db, 'ipv4:45.155.205.233')?.score).toBeLessThan(73);
    // Checked again only when it can have moved another 5 points (or crossed 70): not in the same cycle.
    expect(decayScores(store.db, config, 'c4', T0 + 8 * DAY + HOUR).checked).toBe(0);
    expect(decayScores(store.db, config, 'c5', T0 + 31 * DAY)).toEqual({
      checked: 1,
      rescored: 1,
      expired: 1,
    });
    store.close();
  });

  test('new evidence (another source, changed tags) makes it due at once', () => {
    const store = scoredStore();
    recordSightings(store.db, [sighting('sha256', 'a'.repeat(64), 'other', { seenAt: T0 + HOUR })], 'c1');
    expect(decayScores(store.db, config, 'c1', T0 + HOUR)).toMatchObject({ checked: 1 });
    recordSightings(
      store.db,
      [sighting('sha256', 'a'.repeat(64), 'other', { seenAt: T0 + 2 * HOUR, tags: ['ransomware'] })],
      'c2',
    );
    expect(decayScores(store.db, config, 'c2', T0 + 2 * HOUR)).toMatchObject({ checked: 1, rescored: 1 });
    store.close();
  });

  test('a sighting brings an aged IOC back only when its fresh score differs enough', () => {
    const store = scoredStore();
    const ip = sighting('ipv4', '45.155.205.233', 'feed');
    // Seen again the next day: its age resets, but a day of ageing cost it nothing that matters.
    recordSightings(store.db, [{ ...ip, seenAt: T0 + DAY }], 'c1');
    expect(decayScores(store.db, config, 'c1', T0 + DAY).checked).toBe(0);
    // Aged below the threshold and withdrawn, then seen again: back at its full score in that cycle.
    decayScores(store.db, config, 'c2', T0 + 22 * DAY);
    expect(findIoc(store.db, ip.key)?.score).toBeLessThan(70);
    recordSightings(store.db, [{ ...ip, seenAt: T0 + 23 * DAY }], 'c3');
    expect(decayScores(store.db, config, 'c3', T0 + 23 * DAY)).toMatchObject({ checked: 1, rescored: 1 });
    expect(findIoc(store.db, ip.key)?.score).toBe(77);
    store.close();
  });
});
