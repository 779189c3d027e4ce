import { readFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { drainOutbox } from '../../src/pipeline/deliver.js';
import { computeScore } from '../../src/scoring/index.js';
import { scoringSchema } from '../../src/config/scoring.js';
import { fileSink } from '../../src/sinks/file.js';
import type { Sink } from '../../src/sinks/index.js';
import { findIoc, recordScore, type Store } from '../../src/store/index.js';
import { seed, sighting, tempStore } from '../support/store.js';
import { TEST_HOLDER } from './support.js';

let store: Store & { dir: string };
afterEach(() => store?.close());

function queue(count: number): void {
  const values = Array.from({ length: count }, (_, i) => `45.${i >> 8}.${i & 255}.7`);
  seed(
    store,
    values.map((v) => sighting('ipv4', v, 'feed')),
  );
  for (const v of values) {
    const ioc = findIoc(store.db, `ipv4:${v}`)!;
    recordScore(
      store.db,
      ioc.id,
      computeScore({ sightings: [{ source: 'feed', reliability: 90 }] }, scoringSchema.parse({})),
      [{ sink: 'out', threshold: 70 }],
      'c1',
      1,
    );
  }
}

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);
const options = (batchSize: number) => ({ cycleId: 'c1', holder: TEST_HOLDER, now: () => 2, batchSize });

describe('file sink', () => {
  test('delivers every queued IOC once, in batches', async () => {
    store = tempStore();
    queue(25);
    const sink = fileSink('out', {
      type: 'file',
      enabled: true,
      path: join(store.dir, 'out.jsonl'),
      batchSize: 10,
    });
    expect(await drainOutbox(sink, store.db, options(10))).toEqual({
      sink: 'out',
      delivered: 25,
      rejected: 0,
      batches: 3,
      pending: 0,
    });
    const written = lines(join(store.dir, 'out.jsonl')).map(
      (l) => JSON.parse(l) as { delivery_id: string; action: string },
    );
    expect(new Set(written.map((w) => w.delivery_id)).size).toBe(25);
    expect(await drainOutbox(sink, store.db, options(10))).toMatchObject({ delivered: 0, batches: 0 });
    expect(lines(join(store.dir, 'out.jsonl'))).toHaveLength(25);
  });

  test('a crash after writing a batch but before marking it delivered leaves each IOC in the file once', async () => {
    store = tempStore();
    queue(25);
    const path = join(store.dir, 'out.jsonl');
    const real = fileSink('out', { type: 'file', enabled: true, path, batchSize: 10 });
    let sends = 0;
    const crashing: Sink = {
      ...real,
      async send(batch, context) {
        const result = await real.send(batch, context);
        // The second batch reaches the file, then the worker dies before the ledger is written.
        if (++sends === 2) {
          appendFileSync(path, '{"half-written');
          throw new Error('worker killed');
        }
        return result;
      },
    };
    await expect(drainOutbox(crashing, store.db, options(10))).rejects.toThrow('worker killed');
    expect(store.sqlite.prepare('select count(*) as n from deliveries').get()).toEqual({ n: 10 });

    const retried = await drainOutbox(real, store.db, options(10));
    expect(retried).toMatchObject({ delivered: 15, pending: 0 });
    const ids = lines(path).map((l) => (JSON.parse(l) as { delivery_id: string }).delivery_id);
    expect(ids).toHaveLength(25);
    expect(new Set(ids).size).toBe(25);
  });
});
