import { afterEach, describe, expect, test } from 'vitest';
import { computeScore } from '../../src/scoring/index.js';
import { scoringSchema } from '../../src/config/scoring.js';
import { findIoc, queueMissedUpserts, recordScore, type Store } from '../../src/store/index.js';
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

describe('a sink added to a running deployment', () => {
  test('gets the current set it qualifies for, once; expired, allowlisted and low scores stay out', () => {
    store = tempStore();
    const keys = ['91.92.109.43', '91.92.109.44', '91.92.109.45', '91.92.109.46'];
    seed(
      store,
      keys.map((ip) => sighting('ipv4', ip, 'feed')),
    );
    scoreAs(store, 'ipv4:91.92.109.43', 95); // qualifies for both new sinks
    scoreAs(store, 'ipv4:91.92.109.44', 75); // for the one at 70 only
    scoreAs(store, 'ipv4:91.92.109.45', 95); // expires before now
    store.sqlite
      .prepare(
        "update scores set expires_at = 10 where ioc_id = (select id from iocs where value = '91.92.109.45')",
      )
      .run();
    scoreAs(store, 'ipv4:91.92.109.46', 95); // allowlisted since
    store.sqlite.prepare("update iocs set status = 'allowlisted' where value = '91.92.109.46'").run();
    const before = outboxRows(store).length;

    const added = [
      { sink: 'siem', threshold: 70 }, // configured all along: already queued what it qualified for
      { sink: 'splunk', threshold: 70 },
      { sink: 'falcon', threshold: 90 },
    ];
    expect(queueMissedUpserts(store.db, added, 1_000)).toEqual({ siem: 0, splunk: 2, falcon: 1 });
    const queued = store.sqlite
      .prepare(
        'select o.sink, i.value, o.action, o.score_version as v from outbox o join iocs i on i.id = o.ioc_id where o.sink in (?, ?) order by o.sink, i.value',
      )
      .all('splunk', 'falcon');
    expect(queued).toEqual([
      { sink: 'falcon', value: '91.92.109.43', action: 'upsert', v: 1 },
      { sink: 'splunk', value: '91.92.109.43', action: 'upsert', v: 1 },
      { sink: 'splunk', value: '91.92.109.44', action: 'upsert', v: 1 },
    ]);
    expect(outboxRows(store)).toHaveLength(before + 3);
    expect(queueMissedUpserts(store.db, added, 1_000)).toEqual({ siem: 0, splunk: 0, falcon: 0 });
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
