import { afterEach, describe, expect, test } from 'vitest';
import { computeScore } from '../../src/scoring/index.js';
import { scoringSchema } from '../../src/config/scoring.js';
import { findIoc, recordScore, type Store } from '../../src/store/index.js';
import { seed, sighting, tempStore } from '../support/store.js';

/** Scores equal to the source's reliability, so thresholds read plainly. */
const SOURCE_ONLY = scoringSchema.parse({ weights: { source: 1 } });

let store: Store;
afterEach(() => store?.close());

const sinks = [
  { sink: 'siem', threshold: 70 },
  { sink: 'edr', threshold: 90 },
];

function outboxRows(s: Store) {
  return s.sqlite.prepare('select sink, action, score_version as v from outbox order by id').all();
}

function scoreAs(s: Store, key: string, reliability: number, at = 1) {
  const ioc = findIoc(s.db, key)!;
  return recordScore(
    s.db,
    ioc.id,
    computeScore({ sightings: [{ source: 'feed', reliability }] }, SOURCE_ONLY),
    sinks,
    'c1',
    at,
  );
}

describe('recording a score', () => {
  test('queues an upsert for each sink whose threshold the score reaches', () => {
    store = tempStore();
    seed(store, [sighting('ipv4', '91.92.109.43', 'feed')]);
    expect(scoreAs(store, 'ipv4:91.92.109.43', 80)).toEqual({ version: 1, changed: true });
    expect(outboxRows(store)).toEqual([{ sink: 'siem', action: 'upsert', v: 1 }]);
  });

  test('an unchanged score is a no-op: no new version, nothing queued twice', () => {
    store = tempStore();
    seed(store, [sighting('ipv4', '91.92.109.43', 'feed')]);
    scoreAs(store, 'ipv4:91.92.109.43', 80);
    expect(scoreAs(store, 'ipv4:91.92.109.43', 80)).toEqual({ version: 1, changed: false });
    expect(outboxRows(store)).toHaveLength(1);
    expect(store.sqlite.prepare('select count(*) as n from scores').get()).toEqual({ n: 1 });
  });

  test('a higher score updates, a drop below a threshold withdraws once, and history is kept', () => {
    store = tempStore();
    seed(store, [sighting('ipv4', '91.92.109.43', 'feed')]);
    scoreAs(store, 'ipv4:91.92.109.43', 80);
    scoreAs(store, 'ipv4:91.92.109.43', 95);
    scoreAs(store, 'ipv4:91.92.109.43', 50);
    scoreAs(store, 'ipv4:91.92.109.43', 40);
    expect(outboxRows(store)).toEqual([
      { sink: 'siem', action: 'upsert', v: 1 },
      { sink: 'siem', action: 'upsert', v: 2 },
      { sink: 'edr', action: 'upsert', v: 2 },
      { sink: 'siem', action: 'withdraw', v: 3 },
      { sink: 'edr', action: 'withdraw', v: 3 },
    ]);
    expect(store.sqlite.prepare('select version, score from scores order by version').all()).toEqual([
      { version: 1, score: 80 },
      { version: 2, score: 95 },
      { version: 3, score: 50 },
      { version: 4, score: 40 },
    ]);
  });

  test("a version's time is never before the one it replaces, whatever the recording worker's clock says", () => {
    store = tempStore();
    seed(store, [sighting('ipv4', '91.92.109.43', 'feed')]);
    scoreAs(store, 'ipv4:91.92.109.43', 80, 5_000);
    scoreAs(store, 'ipv4:91.92.109.43', 40, 2_000);
    scoreAs(store, 'ipv4:91.92.109.43', 90, 9_000);
    expect(
      store.sqlite.prepare('select version, computed_at as at from scores order by version').all(),
    ).toEqual([
      { version: 1, at: 5_000 },
      { version: 2, at: 5_001 },
      { version: 3, at: 9_000 },
    ]);
  });
});

describe('statements prepared per connection', () => {
  test('each store answers from its own database, also after another store was opened and closed', () => {
    store = tempStore();
    const other = tempStore();
    seed(other, [sighting('ipv4', '91.92.109.43', 'feed')]);
    expect(findIoc(other.db, 'ipv4:91.92.109.43')).toBeDefined();
    expect(findIoc(store.db, 'ipv4:91.92.109.43')).toBeUndefined();
    other.close();
    seed(store, [sighting('ipv4', '91.92.109.43', 'feed')]);
    expect(scoreAs(store, 'ipv4:91.92.109.43', 80)).toEqual({ version: 1, changed: true });
  });
});
