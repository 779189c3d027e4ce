import { Context, log } from '@temporalio/activity';
import type { Got } from 'got';
import type { Config } from '../src/config/index.js';
import { createEnricher } from '../src/enrichers/index.js';
import { Pacer } from '../src/enrichers/pacer.js';
import { durationMs } from '../src/config/primitives.js';
import type { PipelineMetrics } from '../src/observability/metrics.js';
import { enrichWithVendor } from '../src/pipeline/enrich.js';
import { VENDOR_ACTIVITIES, type Vendor, type VendorLookupResult } from '../src/shared/messages.js';
import type { Store } from '../src/store/index.js';
import { toActivityFailure } from './failures.js';

export interface VendorActivityInput {
  key: string;
  /** Bypass the cache (an analyst's re-enrichment). */
  force?: boolean;
}

/** How often a lookup in flight tells Temporal it is alive; the workflow's heartbeat timeout is 3× this. */
const HEARTBEAT_EVERY_MS = 5_000;

/**
 * The activity of one vendor's task queue: a cached or fresh lookup of one IOC. Registered only on that
 * vendor's worker, whose queue-wide rate limit is the vendor's.
 */
export function createVendorActivity(
  vendor: Vendor,
  deps: { config: Config; store: Store; http: Got; now?: () => number; metrics?: PipelineMetrics },
): Record<string, (input: VendorActivityInput) => Promise<VendorLookupResult>> {
  const enricher = createEnricher(vendor, deps.config, { http: deps.http });
  const settings = deps.config.enrichers[vendor];
  if (!enricher || !settings)
    throw new Error(`vendor ${vendor} is not enabled (config: enrichers.${vendor})`);
  const rateWindowMs = durationMs(settings.rateLimit.per);
  const pacer = new Pacer(settings.rateLimit.requests, rateWindowMs);
  const activity = async (input: VendorActivityInput): Promise<VendorLookupResult> => {
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      const result = await enrichWithVendor(input.key, input.force ?? false, {
        db: deps.store.db,
        config: deps.config,
        enricher,
        pacer,
        now: deps.now ?? Date.now,
        signal: ctx.cancellationSignal,
        metrics: deps.metrics,
      });
      log.info('vendor lookup', { ...result });
      return result;
    } catch (err) {
      throw toActivityFailure(err, rateWindowMs);
    } finally {
      clearInterval(beat);
    }
  };
  return { [VENDOR_ACTIVITIES[vendor]]: activity };
}

/** The workflow-side type of the vendor activities. */
export type VendorActivities = Record<
  (typeof VENDOR_ACTIVITIES)[Vendor],
  (input: VendorActivityInput) => Promise<VendorLookupResult>
>;
