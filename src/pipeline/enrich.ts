import type { Config } from '../config/index.js';
import type { VendorLookupResult } from '../shared/messages.js';
import { durationMs } from '../config/primitives.js';
import { describeLookup, type Enricher, type Lookup } from '../enrichers/index.js';
import type { Pacer } from '../enrichers/pacer.js';
import { RateLimitedError } from '../http/failures.js';
import type { PipelineMetrics } from '../observability/metrics.js';
import { parseKey, type IocType } from '../ioc/index.js';
import {
  iocIdOf,
  markVendorExhausted,
  readEnrichments,
  recordGap,
  reserveVendorCall,
  storeLookup,
  type StoreDb,
} from '../store/index.js';

/**
 * A Retry-After longer than this means the vendor's quota is spent for the day (AbuseIPDB answers with the
 * seconds until its daily reset): waiting it out would hold the cycle for hours, so the IOC is scored
 * without the vendor and tried again next cycle.
 * @default 5 minutes
 */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

export interface EnrichDeps {
  db: StoreDb;
  config: Config;
  enricher: Enricher;
  /** Spaces this process's calls to the vendor; shared by every lookup of that vendor. */
  pacer?: Pacer;
  now: () => number;
  signal?: AbortSignal | undefined;
  metrics?: PipelineMetrics | undefined;
}

/**
 * One vendor's lookup of one IOC: the cached answer while it is fresh (unless forced), otherwise one call
 * taken from the vendor's daily budget. A spent budget makes no call at all. Failures other than a spent
 * quota are thrown for Temporal to retry or give up on.
 */
export async function enrichWithVendor(
  key: string,
  force: boolean,
  deps: EnrichDeps,
): Promise<VendorLookupResult> {
  const { db, enricher, now } = deps;
  const vendor = enricher.vendor;
  const settings = deps.config.enrichers[vendor];
  // The key names the indicator; only the row id comes from the store (sightings are not needed here).
  const indicator = parseKey(key);
  const iocId = iocIdOf(db, key);
  if (iocId === undefined || !settings)
    throw new Error(
      `cannot enrich ${key} with ${vendor}: ${iocId === undefined ? 'IOC not in the store' : 'vendor not configured'}`,
    );

  const cached = readEnrichments(db, iocId).find((e) => e.vendor === vendor);
  const ttl = durationMs(settings.ttl[indicator.type as Exclude<IocType, 'cidr' | 'email'>]);
  if (!force && cached?.fetchedAt != null && cached.lookup && now() - cached.fetchedAt < ttl) {
    deps.metrics?.vendorCacheHit(vendor);
    return {
      vendor,
      status: 'cached',
      outcome: cached.lookup.outcome,
      brief: describeLookup(vendor, cached.lookup),
    };
  }

  if (!reserveVendorCall(db, vendor, settings.dailyBudget, now())) {
    const reason = `daily budget of ${settings.dailyBudget} calls spent`;
    deps.metrics?.vendorSkipped(vendor, 'budget');
    recordGap(db, iocId, vendor, reason, now());
    return { vendor, status: 'skipped', reason };
  }
  let lookup: Lookup;
  try {
    const send = (onSent?: () => void) => enricher.lookup(indicator, deps.signal, onSent);
    lookup = await (deps.pacer ? deps.pacer.paced(send, deps.signal) : send());
  } catch (err) {
    deps.metrics?.vendorCalled(vendor, err instanceof RateLimitedError ? 'rate_limited' : 'failed');
    if (err instanceof RateLimitedError && (err.retryAfterMs ?? 0) > MAX_RETRY_AFTER_MS) {
      markVendorExhausted(db, vendor, now());
      deps.metrics?.vendorSkipped(vendor, 'quota');
      const reason = `quota spent (vendor asks to wait ${Math.round((err.retryAfterMs ?? 0) / 60_000)} min)`;
      recordGap(db, iocId, vendor, reason, now());
      return { vendor, status: 'skipped', reason };
    }
    throw err;
  }
  deps.metrics?.vendorCalled(vendor, lookup.outcome);
  storeLookup(db, iocId, vendor, lookup, now());
  return { vendor, status: 'fetched', outcome: lookup.outcome, brief: describeLookup(vendor, lookup) };
}
