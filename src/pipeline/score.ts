import type { Config } from '../config/index.js';
import { durationMs } from '../config/primitives.js';
import { vendorsFor, type VendorName } from '../enrichers/index.js';
import { computeScore, type ScoreResult, type VendorEvidence } from '../scoring/index.js';
import {
  findIoc,
  readEnrichments,
  recordGap,
  recordScore,
  setEnrichmentDue,
  type IocRecord,
  type SinkThreshold,
  type StoreDb,
} from '../store/index.js';

/** Reliability assumed for sightings of a source that has since left the configuration. */
const UNKNOWN_SOURCE_RELIABILITY = 50;

export interface ScoredIoc {
  ioc: IocRecord;
  result: ScoreResult;
  version: number;
  changed: boolean;
}

/** A vendor the enrichment could not use this time, and why (never a credential). */
export interface VendorGap {
  vendor: VendorName;
  reason: string;
}

/**
 * Scores one IOC from what the store knows of it (sightings, cached vendor verdicts, this run's gaps),
 * queues what the sinks must receive, and sets when the IOC next needs enrichment.
 */
export function scoreAndRecord(
  db: StoreDb,
  config: Config,
  key: string,
  cycleId: string | null,
  now: number,
  gaps: readonly VendorGap[] = [],
): ScoredIoc | undefined {
  const ioc = findIoc(db, key);
  if (!ioc) return undefined;
  for (const gap of gaps) recordGap(db, ioc.id, gap.vendor, gap.reason, now);

  const applicable = vendorsFor(ioc.type, config);
  const cached = new Map(readEnrichments(db, ioc.id).map((e) => [e.vendor, e]));
  const gapNow = new Map(gaps.map((g) => [g.vendor, g.reason]));
  const vendors: VendorEvidence[] = applicable.map((vendor) => {
    const entry = cached.get(vendor);
    const lookup =
      entry?.outcome === 'ok' && entry.verdict
        ? { outcome: 'ok' as const, verdict: entry.verdict }
        : entry?.outcome === 'not_found'
          ? { outcome: 'not_found' as const }
          : undefined;
    const gap = gapNow.get(vendor);
    return { vendor, ...(lookup ? { lookup } : {}), ...(gap ? { gap } : {}) };
  });

  const result = computeScore({
    allowlist: ioc.allowlist,
    sightings: ioc.sightings.map((s) => ({
      source: s.source,
      reliability: config.sources[s.source]?.reliability ?? UNKNOWN_SOURCE_RELIABILITY,
      confidence: s.confidence,
      tags: s.tags,
    })),
    vendors,
  });
  const { version, changed } = recordScore(db, ioc.id, result, sinkThresholds(config), cycleId, now);
  setEnrichmentDue(db, ioc.id, nextEnrichmentDue(config, ioc.type, vendors, cached, now));
  return { ioc, result, version, changed };
}

/**
 * The earliest time one of the IOC's vendors has something new to say: when its cached answer expires,
 * or now when a vendor was unavailable or skipped (so the next cycle tries again). Null when no vendor
 * applies: such an IOC is never re-enriched on its own.
 */
function nextEnrichmentDue(
  config: Config,
  type: string,
  vendors: readonly VendorEvidence[],
  cached: Map<string, { fetchedAt: number | null }>,
  now: number,
): number | null {
  let due: number | null = null;
  for (const { vendor, gap } of vendors) {
    const settings = config.enrichers[vendor];
    const fetchedAt = cached.get(vendor)?.fetchedAt ?? null;
    const ttl = settings ? durationMs(settings.ttl[type as keyof typeof settings.ttl]) : 0;
    const vendorDue = gap || fetchedAt === null ? now : fetchedAt + ttl;
    due = due === null ? vendorDue : Math.min(due, vendorDue);
  }
  return due;
}

export function sinkThresholds(config: Config): SinkThreshold[] {
  return Object.entries(config.sinks)
    .filter(([, sink]) => sink.enabled)
    .map(([sink, c]) => ({ sink, threshold: c.threshold ?? config.scoring.threshold }));
}
