import { afterEach, describe, expect, test } from 'vitest';
import { acquireLease, releaseLease, renewLease, type Store } from '../../src/store/index.js';
import { tempStore } from '../support/store.js';

const TTL = 60_000;
const T0 = 1_700_000_000_000;

let store: Store;
afterEach(() => store?.close());

describe('sink delivery leases', () => {
  test('a free lease is taken; a live one is refused with its holder named', () => {
    store = tempStore();
    expect(acquireLease(store.db, 'out', 'a', T0, TTL)).toEqual({ held: true, expiresAt: T0 + TTL });
    expect(acquireLease(store.db, 'out', 'b', T0 + TTL - 1, TTL)).toEqual({ held: false, holder: 'a' });
    // Leases are per sink.
    expect(acquireLease(store.db, 'splunk', 'b', T0, TTL)).toMatchObject({ held: true });
  });

  test('an expired lease is taken over, and its old holder can neither renew nor release it', () => {
    store = tempStore();
    acquireLease(store.db, 'out', 'a', T0, TTL);
    expect(acquireLease(store.db, 'out', 'b', T0 + TTL, TTL)).toEqual({
      held: true,
      expiresAt: T0 + 2 * TTL,
    });
    expect(renewLease(store.db, 'out', 'a', T0 + TTL + 1, TTL)).toEqual({ held: false, holder: 'b' });
    expect(releaseLease(store.db, 'out', 'a')).toBe(false);
    expect(acquireLease(store.db, 'out', 'c', T0 + TTL + 1, TTL)).toEqual({ held: false, holder: 'b' });
  });

  test('the holder re-acquires and renews its own lease, even past expiry when nobody took it', () => {
    store = tempStore();
    acquireLease(store.db, 'out', 'a', T0, TTL);
    expect(acquireLease(store.db, 'out', 'a', T0 + 10, TTL)).toEqual({
      held: true,
      expiresAt: T0 + 10 + TTL,
    });
    expect(renewLease(store.db, 'out', 'a', T0 + 2 * TTL, TTL)).toEqual({
      held: true,
      expiresAt: T0 + 3 * TTL,
    });
    expect(acquireLease(store.db, 'out', 'b', T0 + 2 * TTL + 1, TTL)).toEqual({ held: false, holder: 'a' });
  });

  test('a released lease is free at once, and renewing it then finds no holder', () => {
    store = tempStore();
    acquireLease(store.db, 'out', 'a', T0, TTL);
    expect(releaseLease(store.db, 'out', 'a')).toBe(true);
    expect(renewLease(store.db, 'out', 'a', T0 + 1, TTL)).toEqual({ held: false, holder: undefined });
    expect(acquireLease(store.db, 'out', 'b', T0 + 1, TTL)).toMatchObject({ held: true });
  });
});
