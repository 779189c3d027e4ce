import type { SinkReport } from '../shared/messages.js';
import type { PipelineMetrics } from '../observability/metrics.js';
import type { Sink } from '../sinks/index.js';
import {
  acquireLease,
  countPending,
  markSettled,
  pendingDeliveries,
  readInflight,
  releaseLease,
  renewLease,
  writeInflight,
  type StoreDb,
} from '../store/index.js';

/**
 * How long a sink's delivery lease lasts without renewal. Two minutes is the deliver activity's heartbeat
 * timeout (workflows/ingest-cycle.ts): by the time Temporal retries an attempt whose worker died, that
 * attempt's lease has expired or is about to, so the retry takes over instead of waiting a whole cycle.
 * Renewed every third of it, a live drainer keeps its lease through two missed renewals (a loaded
 * worker, SQLite's 5 s busy timeout) before anyone may take over.
 */
export const SINK_LEASE_TTL_MS = 2 * 60_000;

/** Another live drainer holds the sink's lease: retried shortly, when that drain has likely emptied the outbox. */
export class SinkBusyError extends Error {
  constructor(
    readonly sink: string,
    readonly holder: string,
  ) {
    super(`sink ${sink} is being delivered by ${holder}; retried after it`);
    this.name = 'SinkBusyError';
  }
}

/** This drainer stalled past its lease and another took the sink over: it sends and marks nothing more. */
export class SinkLeaseLostError extends Error {
  constructor(
    readonly sink: string,
    readonly holder: string | undefined,
  ) {
    super(
      `sink ${sink}: delivery stopped, its lease expired and was taken over by ${holder ?? 'another drainer'}`,
    );
    this.name = 'SinkLeaseLostError';
  }
}

/**
 * The lease holder of one deliver activity attempt: unique per attempt, so a retry never passes for an
 * earlier attempt still running on a stalled worker.
 */
export function deliveryHolder(run: string, activityId: string, attempt: number): string {
  return `${run}/${activityId}#${attempt}`;
}

export interface DeliverOptions {
  cycleId: string | null;
  /** Who drains: unique per attempt (the deliver activity builds it from its workflow, activity and attempt). */
  holder: string;
  now: () => number;
  batchSize: number;
  /** Called after each acknowledged batch; the activity heartbeats from here. */
  onBatch?: (report: SinkReport) => void;
  signal?: AbortSignal | undefined;
  metrics?: PipelineMetrics | undefined;
  /** The running report of this delivery's earlier attempts (their last heartbeat): counting goes on from it. */
  resume?: SinkReport | undefined;
  /** @default SINK_LEASE_TTL_MS */
  leaseTtlMs?: number;
}

/**
 * Drains a sink's outbox batch by batch: send, then mark delivered. A crash between the two re-sends the
 * batch on retry, which the sink's own idempotence absorbs; nothing is marked that was not acknowledged.
 * Rows the sink rejected for their content are settled too, with the sink's message in the ledger, so
 * one bad indicator never blocks the rest.
 *
 * That idempotence (the file sink's in-flight offset, Splunk's ack ids) assumes one drainer per sink, so
 * the drain holds the sink's lease throughout: another live holder fails it with SinkBusyError, and a
 * drainer that finds its lease taken over stops sending and marks nothing more. Lease times are wall-clock,
 * not `options.now`: they measure real time between workers, as the renewal timer does.
 */
export async function drainOutbox(sink: Sink, db: StoreDb, options: DeliverOptions): Promise<SinkReport> {
  const { holder } = options;
  const ttlMs = options.leaseTtlMs ?? SINK_LEASE_TTL_MS;
  const taken = acquireLease(db, sink.name, holder, Date.now(), ttlMs);
  if (!taken.held) throw new SinkBusyError(sink.name, taken.holder ?? 'another drainer');

  const lease = new AbortController();
  let lost: SinkLeaseLostError | undefined;
  /** Renews the lease; when another holder has it, aborts the sink's requests and throws. */
  const keepLease = (): void => {
    if (lost) throw lost;
    const state = renewLease(db, sink.name, holder, Date.now(), ttlMs);
    if (state.held) return;
    lost = new SinkLeaseLostError(sink.name, state.holder);
    lease.abort(lost);
    throw lost;
  };
  // One batch can outlast the TTL (rate-limit waits, HTTP timeouts), so renewal does not wait for it.
  const renewal = setInterval(() => {
    try {
      keepLease();
    } catch {
      // A lost lease is recorded and the sink's requests aborted; the loop stops on it. A locked store (busy
      // timeout) is no sign of another holder: the next tick, or the check made when the batch is marked,
      // tries again well before the lease can expire.
    }
  }, ttlMs / 3);

  const report: SinkReport = {
    sink: sink.name,
    delivered: options.resume?.delivered ?? 0,
    rejected: options.resume?.rejected ?? 0,
    batches: options.resume?.batches ?? 0,
    pending: 0,
  };
  const context = {
    readInflight: () => readInflight(db, sink.name),
    // A drainer that lost the lease must not move the marker its successor relies on.
    writeInflight: (state: unknown) =>
      db.transaction(() => {
        keepLease();
        writeInflight(db, sink.name, state);
      }),
    signal: options.signal ? AbortSignal.any([options.signal, lease.signal]) : lease.signal,
  };
  try {
    for (;;) {
      if (lost) throw lost;
      const batch = pendingDeliveries(db, sink.name, options.batchSize);
      if (batch.length === 0) break;
      const result = await sink.send(batch, context);
      // The check and the marking are one transaction: a drainer that stalled past its lease while another
      // took over marks nothing, even if its timer has not noticed yet.
      db.transaction(() => {
        keepLease();
        markSettled(db, sink.name, result, options.cycleId, options.now(), result.failure !== undefined);
      });
      options.metrics?.batchSettled(sink.name, result.accepted.length, result.rejected.length);
      report.delivered += result.accepted.length;
      report.rejected += result.rejected.length;
      report.batches++;
      options.onBatch?.(report);
      if (result.failure !== undefined) throw result.failure;
      const unanswered = batch.length - result.accepted.length - result.rejected.length;
      if (unanswered > 0) {
        // Retried by Temporal: the unanswered rows are still pending and go out with the next attempt.
        throw new Error(
          `${sink.name} answered for ${batch.length - unanswered} of a batch of ${batch.length}`,
        );
      }
    }
    report.pending = countPending(db, sink.name);
    return report;
  } catch (err) {
    // A send aborted because the lease was lost fails with the abort; the lost lease is the reason.
    throw lost ?? err;
  } finally {
    clearInterval(renewal);
    try {
      // Only ever frees this holder's own lease: one taken over stays with its new holder.
      releaseLease(db, sink.name, holder);
    } catch {
      // A locked store must not turn a finished drain into a failure, nor hide why one failed: the lease
      // then frees itself when it expires.
    }
  }
}
