import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, describe, expect, test } from 'vitest';
import { SINK_BUSY_RETRY_MS, toActivityFailure } from '../../activities/failures.js';
import {
  drainOutbox,
  SINK_LEASE_TTL_MS,
  SinkBusyError,
  SinkLeaseLostError,
} from '../../src/pipeline/deliver.js';
import { fileSink } from '../../src/sinks/file.js';
import type { Sink } from '../../src/sinks/index.js';
import { FAILURE_TYPES } from '../../src/shared/messages.js';
import { acquireLease, openStore, renewLease, type Store } from '../../src/store/index.js';
import { tempStore } from '../support/store.js';
import { deliveredCount, drain, ipv4s, queue } from './support.js';

// Two store handles on one file: two workers sharing the store, each with its own connection.
let store: Store & { dir: string };
let other: Store;
afterEach(() => {
  other?.close();
  store?.close();
});

function setUp(count = 25): { path: string; real: Sink } {
  store = tempStore();
  other = openStore(join(store.dir, 'iocflow.db'));
  queue(store, ipv4s(count), 'out');
  const path = join(store.dir, 'out.jsonl');
  return { path, real: fileSink('out', { type: 'file', enabled: true, path, batchSize: 10 }) };
}

const deliveryIds = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { delivery_id: string }).delivery_id);

/** Another drainer takes the lease over as if `holder`'s had expired (its worker stalled past the TTL). */
function takeOver(db: Store, holder: string): void {
  db.sqlite.prepare("update sink_leases set expires_at = 0 where sink = 'out'").run();
  const taken = acquireLease(db.db, 'out', holder, Date.now(), SINK_LEASE_TTL_MS);
  if (!taken.held) throw new Error(`${holder} could not take the lease over`);
}

describe('one drainer per sink', () => {
  test('two drains of one file sink at once deliver each row once, and the file has each line once', async () => {
    const { path, real } = setUp();
    const sent: number[] = [];
    // A slow acknowledgement keeps each batch unmarked long enough for a second drainer to read it too.
    const slow: Sink = {
      ...real,
      async send(batch, context) {
        sent.push(...batch.map((b) => b.outboxId));
        const result = await real.send(batch, context);
        await sleep(30);
        return result;
      },
    };
    const [a, b] = await Promise.allSettled([
      drain(slow, store, 10, 'drainer-a'),
      drain(slow, other, 10, 'drainer-b'),
    ]);
    expect(a).toMatchObject({ status: 'fulfilled', value: { delivered: 25, pending: 0 } });
    expect(b).toMatchObject({ status: 'rejected', reason: expect.any(SinkBusyError) as unknown });
    // As Temporal retries it, after the first drain: the outbox is empty by then.
    expect(await drain(slow, other, 10, 'drainer-b')).toMatchObject({ delivered: 0, batches: 0, pending: 0 });

    expect(sent).toHaveLength(25);
    expect(new Set(sent).size).toBe(25);
    const lines = deliveryIds(path);
    expect(lines).toHaveLength(25);
    expect(new Set(lines).size).toBe(25);
    expect(deliveredCount(store)).toBe(25);
  });

  test('a second drainer while the first holds the lease fails retryably, naming the holder', async () => {
    const { real } = setUp();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let sending!: () => void;
    const started = new Promise<void>((resolve) => (sending = resolve));
    const held: Sink = {
      ...real,
      async send(batch, context) {
        sending();
        await gate;
        return real.send(batch, context);
      },
    };
    const first = drain(held, store, 10, 'cycle-1/8#1');
    await started;

    const refused = await drain(real, other, 10, 'cycle-2/8#1').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(SinkBusyError);
    expect((refused as Error).message).toBe('sink out is being delivered by cycle-1/8#1; retried after it');
    const failure = toActivityFailure(refused);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({
      type: FAILURE_TYPES.sinkBusy,
      nonRetryable: false,
      nextRetryDelay: SINK_BUSY_RETRY_MS,
    });

    open();
    expect(await first).toMatchObject({ delivered: 25 });
    // Released at the end: the next drainer gets it at once.
    expect(await drain(real, other, 10, 'cycle-2/8#2')).toMatchObject({ delivered: 0 });
  });

  test('a batch longer than the lease keeps it: the lease is renewed while the batch runs', async () => {
    const { real } = setUp();
    const ttlMs = 1_500;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const long: Sink = {
      ...real,
      async send(batch, context) {
        await gate;
        return real.send(batch, context);
      },
    };
    const first = drainOutbox(long, store.db, {
      cycleId: 'c1',
      holder: 'drainer-a',
      now: Date.now,
      batchSize: 10,
      leaseTtlMs: ttlMs,
    });
    await sleep(3 * ttlMs);
    expect(acquireLease(other.db, 'out', 'drainer-b', Date.now(), ttlMs)).toEqual({
      held: false,
      holder: 'drainer-a',
    });
    open();
    expect(await first).toMatchObject({ delivered: 25 });
  });

  test('an expired lease (its holder crashed) is taken over, and its holder cannot come back', async () => {
    const { path, real } = setUp();
    // A worker took the lease and died without releasing it, long enough ago for it to have expired.
    acquireLease(store.db, 'out', 'crashed', Date.now() - SINK_LEASE_TTL_MS - 1_000, SINK_LEASE_TTL_MS);
    const holders: string[] = [];
    const crashedRenewed: boolean[] = [];
    const watched: Sink = {
      ...real,
      async send(batch, context) {
        holders.push(
          other.sqlite.prepare("select holder from sink_leases where sink = 'out'").pluck().get() as string,
        );
        crashedRenewed.push(renewLease(other.db, 'out', 'crashed', Date.now(), SINK_LEASE_TTL_MS).held);
        return real.send(batch, context);
      },
    };
    expect(await drain(watched, store, 10, 'successor')).toMatchObject({ delivered: 25, pending: 0 });
    expect(holders).toEqual(['successor', 'successor', 'successor']);
    expect(crashedRenewed).toEqual([false, false, false]);
    expect(new Set(deliveryIds(path)).size).toBe(25);
  });

  test('a drainer whose lease was taken over during a batch marks nothing more; the new holder finishes', async () => {
    const { path, real } = setUp();
    let sends = 0;
    const stalling: Sink = {
      ...real,
      async send(batch, context) {
        const result = await real.send(batch, context);
        // The second batch reached the file, then this worker stalled past the TTL and lost the sink.
        if (++sends === 2) takeOver(other, 'drainer-b');
        return result;
      },
    };
    const lost = await drain(stalling, store, 10, 'drainer-a').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(lost).toBeInstanceOf(SinkLeaseLostError);
    expect((lost as Error).message).toContain('taken over by drainer-b');
    expect(deliveredCount(store)).toBe(10);
    // Its end released nothing of the new holder's.
    expect(renewLease(other.db, 'out', 'drainer-b', Date.now(), SINK_LEASE_TTL_MS)).toMatchObject({
      held: true,
    });

    expect(await drain(real, other, 10, 'drainer-b')).toMatchObject({ delivered: 15, pending: 0 });
    const lines = deliveryIds(path);
    expect(lines).toHaveLength(25);
    expect(new Set(lines).size).toBe(25);
  });

  test('a drainer learns from its renewal timer that it lost the lease, and stops the batch it is sending', async () => {
    const { path, real } = setUp();
    let sending!: () => void;
    const started = new Promise<void>((resolve) => (sending = resolve));
    let abortedWhileWaiting = false;
    // A batch stuck in rate-limit waits: only an abort ends it before it would reach the file.
    const stuck: Sink = {
      ...real,
      send: (batch, context) =>
        new Promise((resolve, reject) => {
          let waited = false;
          const timer = setTimeout(() => {
            waited = true;
            resolve(real.send(batch, context));
          }, 20_000);
          context.signal?.addEventListener(
            'abort',
            () => {
              if (waited) return;
              abortedWhileWaiting = true;
              clearTimeout(timer);
              reject(new Error('aborted'));
            },
            { once: true },
          );
          sending();
        }),
    };
    const draining = drainOutbox(stuck, store.db, {
      cycleId: 'c1',
      holder: 'drainer-a',
      now: Date.now,
      batchSize: 10,
      leaseTtlMs: 300,
    });
    await started;
    takeOver(other, 'drainer-b');
    await expect(draining).rejects.toThrow(SinkLeaseLostError);
    expect(abortedWhileWaiting).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect(deliveredCount(store)).toBe(0);
  });
});
