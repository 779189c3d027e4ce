import type { Config } from '../config/index.js';
import { durationMs } from '../config/primitives.js';
import { vendorsFor, type VendorName } from '../enrichers/index.js';
import { computeScore, nextDecayCheck, type ScoreResult, type VendorEvidence } from '../scoring/index.js';
import {
  findIoc,
  readEnrichments,
  recordGap,
  recordScore,
  setDueTimes,
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

export interface Evaluation {
  ioc: IocRecord;
  result: ScoreResult;
  vendors: VendorEvidence[];
  fetchedAt: Map<string, number | null>;
}

/**
 * What the model makes of one IOC now, from what the store knows of it (sightings, cached vendor
 * verdicts) and this run's vendor gaps. Records nothing.
 */
export function evaluateIoc(
  db: StoreDb,
  config: Config,
  key: string,
  now: number,
  gaps: readonly VendorGap[] = [],
): Evaluation | undefined {
  const ioc = findIoc(db, key);
  if (!ioc) return undefined;
  const cached = new Map(readEnrichments(db, ioc.id).map((e) => [e.vendor, e]));
  const gapNow = new Map(gaps.map((g) => [g.vendor, g.reason]));
  const vendors: VendorEvidence[] = vendorsFor(ioc.type, config).map((vendor) => {
    const entry = cached.get(vendor);
    const lookup = entry?.lookup;
    const gap = gapNow.get(vendor);
    return { vendor, ...(lookup ? { lookup } : {}), ...(gap ? { gap } : {}) };
  });
  const result = computeScore(
    {
      allowlist: ioc.allowlist,
      sightings: ioc.sightings.map((s) => ({
        source: s.source,
        reliability: config.sources[s.source]?.reliability ?? UNKNOWN_SOURCE_RELIABILITY,
        confidence: s.confidence,
        tags: s.tags,
      })),
      vendors,
      lastSeen: ioc.lastSeen,
      lifetimeMs: lifetimeMs(config, ioc.type),
      now,
    },
    config.scoring,
  );
  return { ioc, result, vendors, fetchedAt: new Map([...cached].map(([v, e]) => [v, e.fetchedAt])) };
}

/**
 * Scores one IOC after an enrichment: records the vendor gaps, the score (a new version when it changed)
 * and what the sinks must receive, and sets when the IOC next needs enrichment.
 */
export function scoreAndRecord(
  db: StoreDb,
  config: Config,
  key: string,
  cycleId: string | null,
  now: number,
  gaps: readonly VendorGap[] = [],
): ScoredIoc | undefined {
  const evaluation = evaluateIoc(db, config, key, now, gaps);
  if (!evaluation) return undefined;
  const { ioc, result, vendors, fetchedAt } = evaluation;
  for (const gap of gaps) recordGap(db, ioc.id, gap.vendor, gap.reason, now);
  const { version, changed } = recordScore(db, ioc.id, result, sinkThresholds(config), cycleId, now);
  setDueTimes(db, ioc.id, {
    enrichment: nextEnrichmentDue(config, ioc.type, vendors, fetchedAt, now),
    decay: decayDue(config, ioc.type, ioc.lastSeen, result.score, result.unaged),
  });
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
  fetchedAtByVendor: Map<string, number | null>,
  now: number,
): number | null {
  let due: number | null = null;
  for (const { vendor, gap } of vendors) {
    const settings = config.enrichers[vendor];
    const fetchedAt = fetchedAtByVendor.get(vendor) ?? null;
    const ttl = settings ? durationMs(settings.ttl[type as keyof typeof settings.ttl]) : 0;
    const vendorDue = gap || fetchedAt === null ? now : fetchedAt + ttl;
    due = due === null ? vendorDue : Math.min(due, vendorDue);
  }
  return due;
}

/**
 * When the decay step must next look at an IOC whose recorded score is `score`: when ageing can have moved
 * it (nextDecayCheck), and whether a new sighting, which resets the age, could raise it enough to record.
 */
export function decayDue(
  config: Config,
  type: string,
  lastSeen: number,
  score: number,
  unaged: number,
): { at: number; onSighting: boolean } {
  const thresholds = sinkThresholds(config).map((s) => s.threshold);
  const delta = config.scoring.redeliverDelta;
  const fresh = Math.round(unaged);
  return {
    at: nextDecayCheck({
      score,
      unaged,
      lastSeen,
      lifetimeMs: lifetimeMs(config, type),
      speed: config.scoring.decaySpeed,
      delta,
      thresholds,
    }),
    onSighting: fresh - score >= delta || thresholds.some((t) => score < t && t <= fresh),
  };
}

/** How long after its last sighting an IOC of this type stays alive. */
export function lifetimeMs(config: Config, type: string): number {
  const lifetimes = config.scoring.lifetimes;
  return durationMs(lifetimes[type as keyof typeof lifetimes] ?? lifetimes.ipv4);
}

export function sinkThresholds(config: Config): SinkThreshold[] {
  return Object.entries(config.sinks)
    .filter(([, sink]) => sink.enabled)
    .map(([sink, c]) => ({ sink, threshold: c.threshold ?? config.scoring.threshold }));
}
