import { afterEach, describe, expect, test } from 'vitest';
import { recordSightings, type Store } from '../../src/store/index.js';
import { sighting, tempStore } from '../support/store.js';

let store: Store;
afterEach(() => store?.close());

describe('recording sightings', () => {
  test('one IOC per canonical key, one sighting per source and reference, tags merged', () => {
    store = tempStore();
    const result = recordSightings(
      store.db,
      [
        sighting('ipv4', '185.220.101.47', 'feed-a', { tags: ['tor'] }),
        sighting('ipv4', '185.220.101.47', 'feed-a', { tags: ['c2'], seenAt: 1_700_000_500_000 }),
        sighting('ipv4', '185.220.101.47', 'feed-b'),
        sighting('domain', 'paste-relay.ru', 'feed-a', { sourceRef: 'event-7' }),
        sighting('domain', 'paste-relay.ru', 'feed-a', { sourceRef: 'event-9' }),
      ],
      'c1',
    );
    expect(result).toEqual({ newIocs: 2, iocs: 2 });
    const rows = store.sqlite
      .prepare(
        'select i.key, s.source, s.source_ref, s.tags, s.last_seen from sightings s join iocs i on i.id = s.ioc_id order by 1, 2, 3',
      )
      .all();
    expect(rows).toEqual([
      {
        key: 'domain:paste-relay.ru',
        source: 'feed-a',
        source_ref: 'event-7',
        tags: '[]',
        last_seen: 1_700_000_000_000,
      },
      {
        key: 'domain:paste-relay.ru',
        source: 'feed-a',
        source_ref: 'event-9',
        tags: '[]',
        last_seen: 1_700_000_000_000,
      },
      {
        key: 'ipv4:185.220.101.47',
        source: 'feed-a',
        source_ref: '',
        tags: '["tor","c2"]',
        last_seen: 1_700_000_500_000,
      },
      {
        key: 'ipv4:185.220.101.47',
        source: 'feed-b',
        source_ref: '',
        tags: '[]',
        last_seen: 1_700_000_000_000,
      },
    ]);
  });

  test('seeing an IOC again refreshes it and is not counted as new', () => {
    store = tempStore();
    recordSightings(store.db, [sighting('ipv4', '45.155.205.233', 'feed-a')], 'c1');
    const again = recordSightings(
      store.db,
      [sighting('ipv4', '45.155.205.233', 'feed-a', { seenAt: 1_800_000_000_000 })],
      'c2',
    );
    expect(again).toEqual({ newIocs: 0, iocs: 1 });
    expect(store.sqlite.prepare('select first_seen, last_seen from iocs').get()).toEqual({
      first_seen: 1_700_000_000_000,
      last_seen: 1_800_000_000_000,
    });
  });

  test('the allowlist verdict follows the latest sighting: listed IOCs are held, delisted ones scored afresh', () => {
    store = tempStore();
    recordSightings(
      store.db,
      [sighting('ipv4', '8.8.8.8', 'feed-a', { allowlist: 'builtin-public-dns' })],
      'c1',
    );
    expect(store.sqlite.prepare('select status, allowlist from iocs').get()).toEqual({
      status: 'allowlisted',
      allowlist: 'builtin-public-dns',
    });
    recordSightings(store.db, [sighting('ipv4', '8.8.8.8', 'feed-a')], 'c2');
    expect(store.sqlite.prepare('select status, allowlist from iocs').get()).toEqual({
      status: 'new',
      allowlist: null,
    });
  });

  test('a batch larger than one statement chunk is stored whole', () => {
    store = tempStore();
    const batch = Array.from({ length: 2500 }, (_, i) =>
      sighting('ipv4', `45.${i >> 8}.${i & 255}.1`, 'bulk'),
    );
    expect(recordSightings(store.db, batch, 'c1')).toEqual({ newIocs: 2500, iocs: 2500 });
    expect(store.sqlite.prepare('select count(*) as n from sightings').get()).toEqual({ n: 2500 });
  });
});
