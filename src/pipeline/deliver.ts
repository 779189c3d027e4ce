import type { SinkReport } from '../shared/messages.js';
import type { PipelineMetrics } from '../observability/metrics.js';
import type { Sink } from '../sinks/index.js';
import {
  countPending,
  markSettled,
  pendingDeliveries,
  readInflight,
  writeInflight,
  type StoreDb,
} from '../store/index.js';

export interface DeliverOptions {
  cycleId: string | null;
  now: () => number;
  batchSize: number;
  /** Called after each acknowledged batch; the activity heartbeats from here. */
  onBatch?: (report: SinkReport) => void;
  signal?: AbortSignal | undefined;
  metrics?: PipelineMetrics | undefined;
  /** The running report of this delivery's earlier attempts (their last heartbeat): counting goes on from it. */
  resume?: SinkReport | undefined;
}

/**
 * Drains a sink's outbox batch by batch: send, then mark delivered. A crash between the two re-sends the
 * batch on retry, which the sink's own idempotence absorbs; nothing is marked that was not acknowledged.
 * Rows the sink rejected for their content are settled too, with the sink's message in the ledger, so
 * one bad indicator never blocks the rest.
 */
export async function drainOutbox(sink: Sink, db: StoreDb, options: DeliverOptions): Promise<SinkReport> {
  const report: SinkReport = {
    sink: sink.name,
    delivered: options.resume?.delivered ?? 0,
    rejected: options.resume?.rejected ?? 0,
    batches: options.resume?.batches ?? 0,
    pending: 0,
  };
  const context = {
    readInflight: () => readInflight(db, sink.name),
    writeInflight: (state: unknown) => writeInflight(db, sink.name, state),
    signal: options.signal,
  };
  for (;;) {
    const batch = pendingDeliveries(db, sink.name, options.batchSize);
    if (batch.length === 0) break;
    const result = await sink.send(batch, context);
    markSettled(db, sink.name, result, options.cycleId, options.now(), result.failure !== undefined);
    options.metrics?.batchSettled(sink.name, result.accepted.length, result.rejected.length);
    report.delivered += result.accepted.length;
    report.rejected += result.rejected.length;
    report.batches++;
    options.onBatch?.(report);
    if (result.failure !== undefined) throw result.failure;
    const unanswered = batch.length - result.accepted.length - result.rejected.length;
    if (unanswered > 0) {
      // Retried by Temporal: the unanswered rows are still pending and go out with the next attempt.
      throw new Error(`${sink.name} answered for ${batch.length - unanswered} of a batch of ${batch.length}`);
    }
  }
  report.pending = countPending(db, sink.name);
  return report;
}
