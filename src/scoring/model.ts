import type { ScoringConfig } from '../config/scoring.js';
import type { Lookup, VendorName } from '../enrichers/types.js';

// The score model. Pure: the same input (and the same `now`) always gives the same score and explanation.
// The reasoning behind every number is in docs/scoring.md; the numbers themselves are config.

/** Bump when a change to the model changes scores; stored with every score. */
export const MODEL_VERSION = 2;

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
  /** Age: the score decays from the IOC's last sighting to 0 at the end of its lifetime. */
  lastSeen?: number;
  lifetimeMs?: number;
  now?: number;
}

/** One line of an explanation: what the input was and how many points it gave (or took). */
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
  /** Contributions in the order applied; their points add up to the score exactly. */
  explanation: Contribution[];
  /** The exact score (0–100, unrounded) before ageing: what the decay step scales down. */
  unaged: number;
}

/** A threat category a tag can name, with how strongly it indicates malice. Order: strongest first. */
const TAG_CATEGORIES: readonly { name: string; weight: number; pattern: RegExp }[] = [
  {
    name: 'c2',
    weight: 1,
    pattern: /(^|[^a-z0-9])(c2|c&c|cnc|command[-_ ]?and[-_ ]?control|botnet[-_ ]?cc)([^a-z0-9]|$)/,
  },
  { name: 'ransomware', weight: 1, pattern: /ransomware/ },
  { name: 'apt', weight: 0.9, pattern: /(^|[^a-z0-9])apt[0-9]*([^a-z0-9]|$)|threat-actor/ },
  { name: 'botnet', weight: 0.8, pattern: /botnet/ },
  {
    name: 'malware',
    weight: 0.7,
    pattern: /(^|[^a-z0-9])(malware|trojan|rat|stealer|loader|backdoor|malware-family)([^a-z0-9]|$)/,
  },
  { name: 'exploit', weight: 0.7, pattern: /exploit|(^|[^a-z0-9])cve-\d{4}-\d+/ },
  { name: 'phishing', weight: 0.7, pattern: /phish/ },
  { name: 'tor', weight: 0.4, pattern: /(^|[^a-z0-9])tor([^a-z0-9]|$)|tor[-_ ]?exit/ },
  { name: 'scanner', weight: 0.3, pattern: /(^|[^a-z0-9])scan(ner|ning)?([^a-z0-9]|$)/ },
];

/** The threat categories a set of tags names, strongest first. */
export function threatCategories(tags: Iterable<string>): { name: string; weight: number }[] {
  const lowered = [...tags].map((t) => t.toLowerCase());
  return TAG_CATEGORIES.filter((c) => lowered.some((t) => c.pattern.test(t))).map(({ name, weight }) => ({
    name,
    weight,
  }));
}

/** Independent evidence, each a probability that the IOC is malicious, combined as noisy-OR. */
interface Evidence {
  factor: string;
  input: string;
  /** 0–1 */
  strength: number;
}

export function computeScore(input: ScoringInput, config: ScoringConfig): ScoreResult {
  const expiresAt =
    input.lastSeen !== undefined && input.lifetimeMs !== undefined ? input.lastSeen + input.lifetimeMs : null;
  const confidence = evidenceConfidence(input);
  if (input.allowlist) {
    return {
      ...result(0, [{ factor: 'allowlisted', input: input.allowlist, points: 0 }]),
      confidence,
      expiresAt,
      unaged: 0,
    };
  }
  const w = config.weights;
  const evidence: Evidence[] = [];

  // Per source, the strongest claim counts once: a feed repeating itself is not corroboration.
  const perSource = new Map<string, number>();
  for (const s of input.sightings) {
    const claim = clamp(s.confidence ?? s.reliability, 0, 100) / 100;
    perSource.set(s.source, Math.max(perSource.get(s.source) ?? 0, claim));
  }
  for (const [source, claim] of perSource) {
    evidence.push({
      factor: 'source',
      input: `${source} (confidence ${Math.round(claim * 100)})`,
      strength: w.source * claim,
    });
  }

  const tags = new Set(input.sightings.flatMap((s) => s.tags ?? []));
  for (const v of input.vendors ?? []) {
    if (
      v.lookup?.outcome === 'ok' &&
      (v.lookup.verdict.vendor === 'virustotal' || v.lookup.verdict.vendor === 'shodan')
    ) {
      for (const t of v.lookup.verdict.tags) tags.add(t);
    }
  }
  const [strongest, ...others] = threatCategories(tags);
  if (strongest) {
    evidence.push({
      factor: 'threat tags',
      input: [strongest.name, ...others.map((c) => c.name)].join(', '),
      strength: w.tags * strongest.weight,
    });
  }

  const gaps: Contribution[] = [];
  let cleanPenalty = 0;
  const cleanReasons: string[] = [];
  for (const v of input.vendors ?? []) {
    if (v.gap) gaps.push({ factor: 'vendor unavailable', input: `${v.vendor}: ${v.gap}`, points: 0 });
    const answer = v.lookup;
    if (answer?.outcome !== 'ok') continue;
    const verdict = answer.verdict;
    switch (verdict.vendor) {
      case 'virustotal': {
        const flagged = verdict.malicious + verdict.suspicious / 2;
        const ratio = verdict.engines > 0 ? flagged / verdict.engines : 0;
        const counts = `${verdict.malicious}/${verdict.engines} malicious, ${verdict.suspicious} suspicious`;
        if (verdict.malicious >= config.virustotal.minMalicious) {
          evidence.push({
            factor: 'virustotal',
            input: counts,
            strength: w.virustotal * Math.min(1, ratio / config.virustotal.saturation),
          });
        } else if (
          verdict.malicious === 0 &&
          verdict.suspicious === 0 &&
          verdict.engines >= config.clean.minEngines
        ) {
          const ageDays =
            verdict.firstSeenAt && input.now !== undefined
              ? (input.now - Date.parse(verdict.firstSeenAt)) / 86_400_000
              : 0;
          const strong = ageDays >= config.clean.minAgeDays;
          cleanPenalty = combine(cleanPenalty, strong ? config.clean.strongPenalty : config.clean.penalty);
          cleanReasons.push(`virustotal ${counts}${strong ? `, known ${Math.floor(ageDays)} days` : ''}`);
        }
        break;
      }
      case 'abuseipdb': {
        const reports = `confidence ${verdict.abuseConfidenceScore}, ${verdict.totalReports} reports`;
        if (verdict.totalReports >= config.abuseipdb.minReports && verdict.abuseConfidenceScore > 0) {
          evidence.push({
            factor: 'abuseipdb',
            input: reports,
            strength: w.abuseipdb * (verdict.abuseConfidenceScore / 100),
          });
        }
        if (verdict.isWhitelisted) {
          cleanPenalty = combine(cleanPenalty, config.clean.whitelistedPenalty);
          cleanReasons.push('abuseipdb whitelisted');
        }
        break;
      }
      case 'shodan': {
        const categories = threatCategories(verdict.tags);
        const strength = Math.max(categories[0]?.weight ?? 0, verdict.vulns.length > 0 ? 0.3 : 0);
        if (strength > 0) {
          const parts = [
            ...(verdict.tags.length ? [`tags ${verdict.tags.join(', ')}`] : []),
            ...(verdict.vulns.length ? [`${verdict.vulns.length} vulns`] : []),
          ];
          evidence.push({ factor: 'shodan', input: parts.join(', '), strength: w.shodan * strength });
        }
        break;
      }
    }
  }

  // Noisy-OR: each piece of evidence removes its share of the remaining doubt, so corroboration raises the
  // score without ever passing 100, and each line of the explanation is the increase it caused.
  evidence.sort((a, b) => b.strength - a.strength || a.factor.localeCompare(b.factor));
  const explanation: Contribution[] = [];
  let doubt = 1;
  let exact = 0;
  let shown = 0;
  const add = (factor: string, text: string, next: number) => {
    exact = next;
    const rounded = Math.round(exact * 100);
    explanation.push({ factor, input: text, points: rounded - shown });
    shown = rounded;
  };
  for (const e of evidence) {
    doubt *= 1 - e.strength;
    add(e.factor, e.input, 1 - doubt);
  }
  if (cleanPenalty > 0 && exact > 0)
    add('clean verdict', cleanReasons.join('; '), exact * (1 - cleanPenalty));
  const unaged = exact * 100;
  if (
    input.lastSeen !== undefined &&
    input.lifetimeMs !== undefined &&
    input.now !== undefined &&
    exact > 0
  ) {
    const age = Math.max(0, input.now - input.lastSeen);
    const kept = decayFactor(age, input.lifetimeMs, config.decaySpeed);
    if (kept < 1)
      add('age', `last seen ${formatDays(age)} ago, lifetime ${formatDays(input.lifetimeMs)}`, exact * kept);
  }
  return { ...result(shown, [...explanation, ...gaps]), confidence, expiresAt, unaged };
}

/**
 * The earliest time at which ageing alone can have moved a score enough to matter: `delta` points down
 * from `score`, below one of the `thresholds` it now reaches, or to 0 at the end of the lifetime. Until
 * then the decay step can skip the IOC without evaluating it. Errs early by up to a point, never late.
 */
export function nextDecayCheck(input: {
  score: number;
  unaged: number;
  lastSeen: number;
  lifetimeMs: number;
  speed: number;
  delta: number;
  thresholds: readonly number[];
}): number {
  const { score, unaged, lastSeen, lifetimeMs, speed } = input;
  if (score <= 0 || unaged <= 0) return lastSeen + lifetimeMs;
  // The aged score falls as the exact value drops below each target (+1: half a point of rounding and
  // half a point of margin); the highest target is met first. A score rounds to 0 below half a point.
  const target = Math.max(score - input.delta + 1, ...input.thresholds.filter((t) => t <= score), 1);
  if (target >= unaged) return lastSeen;
  // unaged × (1 − (age/lifetime)^(1/δ)) = target  ⇔  age = lifetime × (1 − target/unaged)^δ
  return lastSeen + Math.floor(lifetimeMs * Math.pow(1 - target / unaged, speed));
}

/**
 * MISP's polynomial decay: the share of the score kept after `ageMs` of a `lifetimeMs` lifetime,
 * 1 − (age/lifetime)^(1/δ), reaching 0 at the end of the lifetime.
 */
export function decayFactor(ageMs: number, lifetimeMs: number, speed: number): number {
  if (ageMs >= lifetimeMs) return 0;
  return 1 - Math.pow(ageMs / lifetimeMs, 1 / speed);
}

/**
 * How much independent evidence there is, whatever it says: each distinct source and each vendor that
 * answered (known or not) adds a share. One source alone is 35; three sources and three vendors, 93.
 */
function evidenceConfidence(input: ScoringInput): number {
  const sources = new Set(input.sightings.map((s) => s.source)).size;
  const answers = (input.vendors ?? []).filter((v) => v.lookup).length;
  return Math.round(100 * (1 - Math.pow(0.65, sources) * Math.pow(0.75, answers)));
}

/** Severity bands over the score; documented in docs/scoring.md. */
export function severityOf(score: number): Severity {
  if (score >= 90) return 'critical';
  if (score >= 70) return 'high';
  if (score >= 40) return 'medium';
  return 'low';
}

function result(
  score: number,
  explanation: Contribution[],
): Omit<ScoreResult, 'confidence' | 'expiresAt' | 'unaged'> {
  return { score, severity: severityOf(score), modelVersion: MODEL_VERSION, explanation };
}

/** Two independent shares of reduction, applied one after the other. */
function combine(a: number, b: number): number {
  return 1 - (1 - a) * (1 - b);
}

function formatDays(ms: number): string {
  const days = ms / 86_400_000;
  return days >= 1 ? `${Math.round(days)}d` : `${Math.round(ms / 3_600_000)}h`;
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}
