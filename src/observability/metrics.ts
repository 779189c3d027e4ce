import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The pipeline's Prometheus metrics, one object per worker process, handed to the activities and
 * through them to the pipeline steps, which call one method where the event happens. Names follow the
 * Prometheus conventions (`_total` counters, base units); every label has a small, config-bound set of
 * values (source, sink and vendor names, rejection reasons, IOC types), never an IOC.
 */
export class PipelineMetrics {
  readonly registry = new Registry();

  private readonly entries = this.counter('iocflow_source_entries_total', 'Raw entries read, per source.', [
    'source',
  ]);
  private readonly rejects = this.counter(
    'iocflow_source_rejected_total',
    'Entries that are no valid indicator, per source and reason.',
    ['source', 'reason'],
  );
  private readonly newIocs = this.counter(
    'iocflow_source_new_iocs_total',
    'IOCs stored for the first time, per source.',
    ['source'],
  );
  private readonly vendorCalls = this.counter(
    'iocflow_vendor_calls_total',
    'Lookups sent to a vendor, per vendor and outcome (ok, not_found, rate_limited, failed).',
    ['vendor', 'outcome'],
  );
  private readonly cacheHits = this.counter(
    'iocflow_vendor_cache_hits_total',
    'Lookups answered from the store because the cached answer was still fresh.',
    ['vendor'],
  );
  private readonly rateLimited = this.counter(
    'iocflow_vendor_rate_limited_total',
    'HTTP 429 answers from a vendor.',
    ['vendor'],
  );
  private readonly vendorSkips = this.counter(
    'iocflow_vendor_skipped_total',
    'Lookups not made: daily budget spent (budget) or the vendor said its quota is spent (quota).',
    ['vendor', 'reason'],
  );
  private readonly budgetLeft = new Gauge({
    name: 'iocflow_vendor_budget_remaining',
    help: "Calls left in the vendor's daily budget (config: enrichers.<vendor>.dailyBudget), read at scrape time.",
    labelNames: ['vendor'],
    registers: [this.registry],
    collect: () => this.readBudgets(),
  });
  private readonly scores = new Histogram({
    name: 'iocflow_ioc_score',
    help: 'Scores computed (0–100), per IOC type.',
    labelNames: ['type'],
    buckets: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
    registers: [this.registry],
  });
  private readonly delivered = this.counter('iocflow_sink_delivered_total', 'Outbox rows a sink accepted.', [
    'sink',
  ]);
  private readonly sinkRejects = this.counter(
    'iocflow_sink_rejected_total',
    'Outbox rows a sink refused for their content (settled, not retried).',
    ['sink'],
  );
  private readonly sinkFailures = this.counter(
    'iocflow_sink_failures_total',
    'Delivery batches that failed as a whole (retried by Temporal).',
    ['sink'],
  );
  private readonly cycles = this.counter('iocflow_cycles_total', 'Cycles finished.', []);
  private readonly cycleDuration = new Histogram({
    name: 'iocflow_cycle_duration_seconds',
    help: 'Time from the start of a cycle to its end, continue-as-new included.',
    buckets: [10, 30, 60, 300, 900, 1800, 3600, 7200, 14_400, 28_800],
    registers: [this.registry],
  });

  private budgets: () => { vendor: string; left: number }[] = () => [];

  constructor(options: { processMetrics?: boolean } = {}) {
    // Heap, event-loop lag, GC, file descriptors: what tells a stalled worker from a busy one.
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'iocflow_' });
  }

  entryRead(source: string): void {
    this.entries.inc({ source });
  }
  entryRejected(source: string, reason: string): void {
    this.rejects.inc({ source, reason });
  }
  iocsStored(source: string, count: number): void {
    this.newIocs.inc({ source }, count);
  }
  vendorCalled(vendor: string, outcome: 'ok' | 'not_found' | 'rate_limited' | 'failed'): void {
    this.vendorCalls.inc({ vendor, outcome });
    if (outcome === 'rate_limited') this.rateLimited.inc({ vendor });
  }
  vendorCacheHit(vendor: string): void {
    this.cacheHits.inc({ vendor });
  }
  vendorSkipped(vendor: string, reason: 'budget' | 'quota'): void {
    this.vendorSkips.inc({ vendor, reason });
  }
  /** How to read each vendor's remaining budget when scraped (the store knows; several workers share it). */
  readBudgetsWith(read: () => { vendor: string; left: number }[]): void {
    this.budgets = read;
  }
  scored(type: string, score: number): void {
    this.scores.observe({ type }, score);
  }
  batchSettled(sink: string, accepted: number, rejected: number): void {
    this.delivered.inc({ sink }, accepted);
    this.sinkRejects.inc({ sink }, rejected);
  }
  deliveryFailed(sink: string): void {
    this.sinkFailures.inc({ sink });
  }
  cycleFinished(durationMs: number | undefined): void {
    this.cycles.inc();
    if (durationMs !== undefined) this.cycleDuration.observe(durationMs / 1000);
  }

  private readBudgets(): void {
    this.budgetLeft.reset();
    for (const { vendor, left } of this.budgets()) this.budgetLeft.set({ vendor }, Math.max(0, left));
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}

export interface MetricsServer {
  /** `http://host:port/metrics`, with the port actually bound. */
  url: string;
  close(): Promise<void>;
}

/** Serves a registry at `/metrics` on `host:port` (port 0: any free port). */
export async function serveMetrics(registry: Registry, listen: string): Promise<MetricsServer> {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(colon + 1));
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(err instanceof Error ? err.message : 'metrics failed'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`cannot serve metrics on ${listen} (config: metrics.listen): ${err.message}`)),
    );
    server.listen(port, host, resolve);
  });
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${shownHost}:${bound.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
