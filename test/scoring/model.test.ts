import { fc, test as propTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { scoringSchema } from '../../src/config/scoring.js';
import type { Lookup } from '../../src/enrichers/types.js';
import {
  computeScore,
  decayFactor,
  MODEL_VERSION,
  nextDecayCheck,
  type ScoringInput,
  type VendorEvidence,
} from '../../src/scoring/index.js';

const config = scoringSchema.parse({});
const score = (input: ScoringInput) => computeScore(input, config);
const DAY = 86_400_000;
const NOW = Date.parse('2026-11-26T00:00:00Z');

const vt = (
  malicious: number,
  engines: number,
  extra: Partial<Extract<Lookup, { outcome: 'ok' }>['verdict']> = {},
): VendorEvidence => ({
  vendor: 'virustotal',
  lookup: {
    outcome: 'ok',
    verdict: {
      vendor: 'virustotal',
      malicious,
      suspicious: 0,
      harmless: engines - malicious,
      undetected: 0,
      engines,
      reputation: 0,
      tags: [],
      ...extra,
    } as never,
  },
});
const abuse = (confidence: number, reports = 50, isWhitelisted: boolean | null = false): VendorEvidence => ({
  vendor: 'abuseipdb',
  lookup: {
    outcome: 'ok',
    verdict: {
      vendor: 'abuseipdb',
      abuseConfidenceScore: confidence,
      totalReports: reports,
      distinctReporters: 10,
      isTor: false,
      isWhitelisted,
    },
  },
});
const shodan = (tags: string[], vulns: string[] = []): VendorEvidence => ({
  vendor: 'shodan',
  lookup: { outcome: 'ok', verdict: { vendor: 'shodan', ports: [443], hostnames: [], tags, vulns } },
});

describe('golden cases', () => {
  test("the mission's example — MISP with Tor/C2/APT tags, VirusTotal 52/90, AbuseIPDB 94, Shodan Tor exit — lands between 80 and 95", () => {
    const r = score({
      sightings: [
        { source: 'misp', reliability: 75, tags: ['tor', 'c2', 'misp-galaxy:threat-actor="APT28"'] },
      ],
      vendors: [vt(52, 90), abuse(94, 812), shodan(['tor'])],
      lastSeen: NOW,
      lifetimeMs: 30 * DAY,
      now: NOW,
    });
    expect(r.score).toBeGreaterThanOrEqual(80);
    expect(r.score).toBeLessThanOrEqual(95);
    expect(r.severity).toBe(r.score >= 90 ? 'critical' : 'high');
    expect(r.explanation.map((c) => c.factor)).toEqual([
      'source',
      'virustotal',
      'abuseipdb',
      'threat tags',
      'shodan',
    ]);
    expect(r.explanation.find((c) => c.factor === 'threat tags')?.input).toBe('c2, apt, tor');
    expect(r.confidence).toBeGreaterThan(70);
    expect(r.expiresAt).toBe(NOW + 30 * DAY);
  });

  test('a single low-reliability sighting with no enrichment stays below 70', () => {
    const r = score({ sightings: [{ source: 'paste-site', reliability: 40 }] });
    expect(r.score).toBeLessThan(70);
    expect(r.confidence).toBe(35);
  });

  test('a hash with 0 of 70 detections known for over a year stays below 30', () => {
    const r = score({
      sightings: [{ source: 'feed', reliability: 85 }],
      vendors: [vt(0, 70, { firstSeenAt: new Date(NOW - 400 * DAY).toISOString() })],
      now: NOW,
    });
    expect(r.score).toBeLessThan(30);
    expect(r.explanation.at(-1)).toMatchObject({ factor: 'clean verdict' });
    expect(r.explanation.at(-1)!.points).toBeLessThan(0);
  });

  test('an allowlisted resolver is 0', () => {
    const r = score({
      allowlist: 'builtin-public-dns',
      sightings: [{ source: 'a', reliability: 99, tags: ['c2'] }],
      vendors: [vt(60, 90)],
    });
    expect(r).toMatchObject({ score: 0, severity: 'low', modelVersion: MODEL_VERSION });
    expect(r.explanation).toEqual([{ factor: 'allowlisted', input: 'builtin-public-dns', points: 0 }]);
  });

  test('absence of evidence does not pull the score down: unknown to a vendor, a vendor down, 1 of 90', () => {
    const base = score({ sightings: [{ source: 'feed', reliability: 85 }] }).score;
    expect(
      score({
        sightings: [{ source: 'feed', reliability: 85 }],
        vendors: [{ vendor: 'virustotal', lookup: { outcome: 'not_found' } }],
      }).score,
    ).toBe(base);
    const down = score({
      sightings: [{ source: 'feed', reliability: 85 }],
      vendors: [{ vendor: 'shodan', gap: 'Unavailable: Shodan timed out' }],
    });
    expect(down.score).toBe(base);
    expect(down.explanation.at(-1)).toEqual({
      factor: 'vendor unavailable',
      input: 'shodan: Unavailable: Shodan timed out',
      points: 0,
    });
    expect(score({ sightings: [{ source: 'feed', reliability: 85 }], vendors: [vt(1, 90)] }).score).toBe(
      base,
    );
  });

  test('scores decay with age along the documented curve and reach 0 at the end of the lifetime', () => {
    const at = (days: number) =>
      score({
        sightings: [{ source: 'feed', reliability: 100 }],
        lastSeen: NOW - days * DAY,
        lifetimeMs: 30 * DAY,
        now: NOW,
      }).score;
    expect(at(0)).toBe(85);
    expect(at(15)).toBe(Math.round(85 * 0.75));
    expect(at(29)).toBeLessThan(10);
    expect(at(30)).toBe(0);
    expect(decayFactor(7.5 * DAY, 30 * DAY, 0.5)).toBeCloseTo(1 - 1 / 16);
  });
});

const sighting = fc.record({
  source: fc.constantFrom('a', 'b', 'c', 'd'),
  reliability: fc.integer({ min: 0, max: 100 }),
  confidence: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
  tags: fc.subarray(['c2', 'tor', 'apt29', 'phishing', 'benign-looking', 'scanner']),
});
const input = fc.record({
  sightings: fc.array(sighting, { minLength: 1, maxLength: 5 }),
  malicious: fc.integer({ min: 0, max: 90 }),
  abuseScore: fc.integer({ min: 0, max: 100 }),
  reports: fc.integer({ min: 0, max: 100 }),
  ageDays: fc.integer({ min: 0, max: 40 }),
});
const build = (i: {
  sightings: ScoringInput['sightings'];
  malicious: number;
  abuseScore: number;
  reports: number;
  ageDays: number;
}): ScoringInput => ({
  sightings: i.sightings,
  vendors: [vt(i.malicious, 90), abuse(i.abuseScore, i.reports)],
  lastSeen: NOW - i.ageDays * DAY,
  lifetimeMs: 30 * DAY,
  now: NOW,
});

describe('properties', () => {
  propTest.prop([input])('the score is within 0–100 and the explanation adds up to it', (i) => {
    const r = score(build(i));
    expect(r.score).toBeGreaterThanOrEqual(0);
    expect(r.score).toBeLessThanOrEqual(100);
    expect(r.explanation.reduce((sum, c) => sum + c.points, 0)).toBe(r.score);
  });

  propTest.prop([input, fc.integer({ min: 1, max: 30 })])(
    'more VirusTotal detections never lower the score',
    (i, more) => {
      expect(
        score(build({ ...i, malicious: Math.min(90, i.malicious + more) })).score,
      ).toBeGreaterThanOrEqual(score(build(i)).score);
    },
  );

  propTest.prop([input, fc.integer({ min: 1, max: 50 })])(
    'a higher AbuseIPDB confidence never lowers the score',
    (i, more) => {
      expect(
        score(build({ ...i, abuseScore: Math.min(100, i.abuseScore + more) })).score,
      ).toBeGreaterThanOrEqual(score(build(i)).score);
    },
  );

  propTest.prop([input, sighting])('another sighting never lowers the score', (i, extra) => {
    expect(score(build({ ...i, sightings: [...i.sightings, extra] })).score).toBeGreaterThanOrEqual(
      score(build(i)).score,
    );
  });

  propTest.prop([input])('a threat tag never lowers the score', (i) => {
    const tagged = i.sightings.map((s, n) => (n === 0 ? { ...s, tags: [...s.tags, 'ransomware'] } : s));
    expect(score(build({ ...i, sightings: tagged })).score).toBeGreaterThanOrEqual(score(build(i)).score);
  });
});

describe('the decay step may skip an IOC until nextDecayCheck', () => {
  const thresholds = [40, 70, 90];
  // The score the decay step would compute at `at`, from the same inputs as the scorer.
  const agedAt = (i: { ageDays: number } & Parameters<typeof build>[0], at: number) =>
    score({ ...build(i), now: at }).score;

  propTest.prop([input, fc.integer({ min: 1, max: 15 }), fc.double({ min: 0, max: 1, noNaN: true })])(
    'before it, ageing has neither moved the score by delta nor taken it below a threshold or to 0',
    (i, delta, fraction) => {
      const built = build(i);
      const scored = score(built);
      const lifetimeMs = built.lifetimeMs!;
      const lastSeen = built.lastSeen!;
      const checkAt = nextDecayCheck({
        score: scored.score,
        unaged: scored.unaged,
        lastSeen,
        lifetimeMs,
        speed: config.decaySpeed,
        delta,
        thresholds,
      });
      expect(checkAt).toBeLessThanOrEqual(lastSeen + lifetimeMs);
      // Any moment between the scoring and the check.
      const at = Math.floor(NOW + Math.max(0, checkAt - 1 - NOW) * fraction);
      if (at >= checkAt) return;
      const aged = agedAt(i, at);
      expect(scored.score - aged).toBeLessThan(delta);
      for (const t of thresholds) if (scored.score >= t) expect(aged).toBeGreaterThanOrEqual(t);
      if (scored.score > 0) expect(aged).toBeGreaterThan(0);
    },
  );

  test('a fresh high score is next looked at well before its lifetime ends, an expired one at once', () => {
    const at = nextDecayCheck({
      score: 77,
      unaged: 76.5,
      lastSeen: NOW,
      lifetimeMs: 30 * DAY,
      speed: 0.5,
      delta: 5,
      thresholds: [70],
    });
    // 76.5 × (1 − (age/30d)²) falls below 73 after 30 × √(1 − 73/76.5) ≈ 6.4 days.
    expect((at - NOW) / DAY).toBeCloseTo(6.4, 1);
    const expired = { score: 10, unaged: 50, lastSeen: NOW - 40 * DAY, lifetimeMs: 30 * DAY };
    expect(nextDecayCheck({ ...expired, speed: 0.5, delta: 5, thresholds: [70] })).toBeLessThan(NOW);
  });
});
