import { afterEach, describe, expect, test } from 'vitest';
import { pendingDeliveries, type Store } from '../../src/store/index.js';
import { tempStore } from '../support/store.js';
import { ipv4s, queue, rescore } from './support.js';

// Several decisions on one IOC can wait in a sink's outbox together (the sink was down, or a backlog):
// whatever each sink does with a batch, the newest decision must be the one left in force. Here the
// outbox's side; crowdstrike.test.ts and sentinel.test.ts show what each sink ends with.

let store: Store & { dir: string };
afterEach(() => store?.close());

describe('several pending actions on one IOC', () => {
  test('a batch holds one action per IOC, its oldest; the other IOCs are not held back', () => {
    store = tempStore();
    const [a, b] = ipv4s(2);
    queue(store, [a!], 'cs');
    rescore(store, { ...a!, score: 10 }, 'cs');
    queue(store, [b!], 'cs');
    const batch = pendingDeliveries(store.db, 'cs', 100);
    expect(batch.map((item) => [item.value, item.action])).toEqual([
      [a!.value, 'upsert'],
      [b!.value, 'upsert'],
    ]);
  });
});
