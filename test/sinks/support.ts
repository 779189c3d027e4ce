import { createHttpClient } from '../../src/http/client.js';
import { drainOutbox } from '../../src/pipeline/deliver.js';
import { computeScore } from '../../src/scoring/index.js';
import type { Sink } from '../../src/sinks/index.js';
import { findIoc, recordScore, type Store } from '../../src/store/index.js';
import type { IocType } from '../../src/ioc/index.js';
import { seed, sighting } from '../support/store.js';
import { scoringSchema } from '../../src/config/scoring.js';

/** Scores equal to the source's reliability, so thresholds read plainly. */
const SCORE_EQUALS_RELIABILITY = scoringSchema.parse({ weights: { source: 1 } });

export const http = createHttpClient({ timeoutMs: 5_000 });

export interface Queued {
  type: IocType;
  value: string;
  /** Source reliability: the score of a one-source IOC. @default 90 */
  score?: number;
  source?: string;
  ref?: string;
}

/** Seeds IOCs and records their scores, queueing them for `sink` at `threshold`. */
export function queue(
  store: Store,
  iocs: Queued[],
  sink: string,
  threshold = 70,
  at = 1_700_000_100_000,
): void {
  seed(
    store,
    iocs.map((i) => sighting(i.type, i.value, i.source ?? 'feed', i.ref ? { sourceRef: i.ref } : {})),
  );
  for (const i of iocs) rescore(store, i, sink, threshold, at);
}

/** Records a new score for an IOC (as a re-enrichment would), queueing what the sink must now get. */
export function rescore(store: Store, i: Queued, sink: string, threshold = 70, at = 1_700_000_200_000): void {
  const ioc = findIoc(store.db, `${i.type}:${i.value}`)!;
  recordScore(
    store.db,
    ioc.id,
    computeScore(
      { sightings: [{ source: i.source ?? 'feed', reliability: i.score ?? 90 }] },
      SCORE_EQUALS_RELIABILITY,
    ),
    [{ sink, threshold }],
    'c1',
    at,
  );
}

/** The holder of tests that drain without Temporal: one drainer at a time unless a test names another. */
export const TEST_HOLDER = 'test-drainer';

export const drain = (sink: Sink, store: Store, batchSize = 100, holder = TEST_HOLDER) =>
  drainOutbox(sink, store.db, { cycleId: 'c1', holder, now: Date.now, batchSize });

export function ipv4s(n: number, offset = 0): Queued[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + offset;
    return { type: 'ipv4' as const, value: `45.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` };
  });
}

/** Wraps a sink so that its `n`-th send reaches the service and then the worker "dies" before marking. */
export function crashingOn(real: Sink, n: number): Sink {
  let sends = 0;
  return {
    ...real,
    async send(batch, context) {
      const result = await real.send(batch, context);
      if (++sends === n) throw new Error('worker killed');
      return result;
    },
  };
}

export const deliveredCount = (store: Store) =>
  (
    store.sqlite.prepare("select count(*) as n from deliveries where outcome = 'delivered'").get() as {
      n: number;
    }
  ).n;
