import type { Config } from '../config/index.js';
import { computeScore, type ScoreResult } from '../scoring/index.js';
import { findIoc, recordScore, type IocRecord, type SinkThreshold, type StoreDb } from '../store/index.js';

/** Reliability assumed for sightings of a source that has since left the configuration. */
const UNKNOWN_SOURCE_RELIABILITY = 50;

export interface ScoredIoc {
  ioc: IocRecord;
  result: ScoreResult;
  version: number;
  changed: boolean;
}

/** Scores one IOC from what the store knows of it and queues what the sinks must receive. */
export function scoreAndRecord(
  db: StoreDb,
  config: Config,
  key: string,
  cycleId: string | null,
  now: number,
): ScoredIoc | undefined {
  const ioc = findIoc(db, key);
  if (!ioc) return undefined;
  const result = computeScore({
    allowlist: ioc.allowlist,
    sightings: ioc.sightings.map((s) => ({
      source: s.source,
      reliability: config.sources[s.source]?.reliability ?? UNKNOWN_SOURCE_RELIABILITY,
      confidence: s.confidence,
    })),
  });
  const { version, changed } = recordScore(db, ioc.id, result, sinkThresholds(config), cycleId, now);
  return { ioc, result, version, changed };
}

export function sinkThresholds(config: Config): SinkThreshold[] {
  return Object.entries(config.sinks)
    .filter(([, sink]) => sink.enabled)
    .map(([sink, c]) => ({ sink, threshold: c.threshold ?? config.scoring.threshold }));
}
