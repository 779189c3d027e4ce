import type { Lookup, VendorName } from '../enrichers/types.js';

// The score model. Pure: the same input always gives the same score and explanation.
// Version 1 (walking skeleton) scores from source confidence alone; vendor evidence and decay extend it.

/** Bump when a change to the model changes scores; stored with every score. */
export const MODEL_VERSION = 1;

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface SightingEvidence {
  source: string;
  /** The source's configured reliability, 0–100. */
  reliability: number;
  /** The entry's own confidence, 0–100, when the source gives one. */
  confidence?: number | null | undefined;
  tags?: readonly string[];
}

/** What one applicable vendor contributed: its (cached) answer, and/or why it was not usable now. */
export interface VendorEvidence {
  vendor: VendorName;
  lookup?: Lookup;
  /** Set when the vendor was unavailable or skipped this time. */
  gap?: string;
}

export interface ScoringInput {
  /** Name of the allowlist that matched; an allowlisted IOC scores 0. */
  allowlist?: string | null | undefined;
  sightings: readonly SightingEvidence[];
  vendors?: readonly VendorEvidence[];
}

/** One line of an explanation: what the input was and how many points it gave. */
export interface Contribution {
  factor: string;
  input: string;
  points: number;
}

export interface ScoreResult {
  /** 0–100 */
  score: number;
  severity: Severity;
  /** 0–100: how much independent evidence stands behind the score. */
  confidence: number;
  /** Epoch ms when the IOC's lifetime ends unless a source sees it again; null when unknown. */
  expiresAt: number | null;
  modelVersion: number;
  /** Contributions, largest first; their points add up to the score exactly. */
  explanation: Contribution[];
}

export function computeScore(input: ScoringInput): ScoreResult {
  if (input.allowlist) {
    return result(0, [{ factor: 'allowlisted', input: input.allowlist, points: 0 }]);
  }
  // Per source, the strongest claim counts once: a feed repeating itself is not corroboration.
  const perSource = new Map<string, number>();
  for (const s of input.sightings) {
    const claim = clamp(s.confidence ?? s.reliability, 0, 100) / 100;
    perSource.set(s.source, Math.max(perSource.get(s.source) ?? 0, claim));
  }
  // Independent sources combine as independent evidence (noisy-OR): each adds a share of what is left,
  // so corroboration raises the score without ever passing 100.
  const ordered = [...perSource.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const explanation: Contribution[] = [];
  let doubt = 1;
  let shown = 0;
  for (const [source, claim] of ordered) {
    doubt *= 1 - claim;
    const cumulative = Math.round((1 - doubt) * 100);
    explanation.push({
      factor: explanation.length === 0 ? 'source confidence' : 'corroborating source',
      input: `${source} (${Math.round(claim * 100)})`,
      points: cumulative - shown,
    });
    shown = cumulative;
  }
  // Version 1 does not weigh vendor verdicts yet; a vendor that could not be used is shown, not hidden.
  for (const v of input.vendors ?? []) {
    if (v.gap) explanation.push({ factor: 'vendor unavailable', input: `${v.vendor}: ${v.gap}`, points: 0 });
  }
  return result(shown, explanation);
}

/** Severity bands over the score; documented in docs/scoring.md. */
export function severityOf(score: number): Severity {
  if (score >= 90) return 'critical';
  if (score >= 70) return 'high';
  if (score >= 40) return 'medium';
  return 'low';
}

function result(score: number, explanation: Contribution[]): ScoreResult {
  return {
    score,
    severity: severityOf(score),
    confidence: score,
    expiresAt: null,
    modelVersion: MODEL_VERSION,
    explanation,
  };
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}
