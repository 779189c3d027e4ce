import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, recordSightings, type Sighting, type Store } from '../../src/store/index.js';
import { canonicalKey, type IocType } from '../../src/ioc/index.js';

/** A migrated store in a temp folder of its own. */
export function tempStore(): Store & { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'iocflow-store-'));
  return { ...openStore(join(dir, 'iocflow.db')), dir };
}

export function sighting(
  type: IocType,
  value: string,
  source: string,
  extra: Partial<Sighting> = {},
): Sighting {
  return {
    key: canonicalKey({ type, value }),
    type,
    value,
    source,
    tags: [],
    seenAt: 1_700_000_000_000,
    ...extra,
  };
}

export function seed(store: Store, sightings: Sighting[], cycleId = 'cycle-1'): void {
  recordSightings(store.db, sightings, cycleId);
}
