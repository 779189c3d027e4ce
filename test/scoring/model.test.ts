import { fc, test as propTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { computeScore, MODEL_VERSION } from '../../src/scoring/index.js';

describe('score from source confidence', () => {
  test('one source scores its reliability', () => {
    const r = computeScore({ sightings: [{ source: 'feed', reliability: 85 }] });
    expect(r).toEqual({
      score: 85,
      severity: 'high',
      modelVersion: MODEL_VERSION,
      explanation: [{ factor: 'source confidence', input: 'feed (85)', points: 85 }],
    });
  });

  test("an entry's own confidence takes precedence over the source's reliability", () => {
    expect(computeScore({ sightings: [{ source: 'feed', reliability: 85, confidence: 30 }] }).score).toBe(30);
  });

  test('independent sources corroborate; one source repeating itself does not', () => {
    const two = computeScore({
      sightings: [
        { source: 'a', reliability: 85 },
        { source: 'b', reliability: 40 },
      ],
    });
    expect(two.score).toBe(91);
    expect(two.explanation.map((c) => c.points)).toEqual([85, 6]);
    const repeated = computeScore({
      sightings: [
        { source: 'a', reliability: 85 },
        { source: 'a', reliability: 85 },
      ],
    });
    expect(repeated.score).toBe(85);
  });

  test('an allowlisted IOC scores 0 whatever the sources say', () => {
    const r = computeScore({
      allowlist: 'builtin-public-dns',
      sightings: [{ source: 'a', reliability: 99 }],
    });
    expect(r.score).toBe(0);
    expect(r.explanation).toEqual([{ factor: 'allowlisted', input: 'builtin-public-dns', points: 0 }]);
  });

  const sighting = fc.record({
    source: fc.constantFrom('a', 'b', 'c', 'd'),
    reliability: fc.integer({ min: 0, max: 100 }),
    confidence: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
  });

  propTest.prop([fc.array(sighting, { maxLength: 8 })])(
    'the score is within 0–100 and the explanation sums to it',
    (sightings) => {
      const r = computeScore({ sightings });
      expect(r.score).toBeGreaterThanOrEqual(0);
      expect(r.score).toBeLessThanOrEqual(100);
      expect(r.explanation.reduce((sum, c) => sum + c.points, 0)).toBe(r.score);
    },
  );

  propTest.prop([fc.array(sighting, { maxLength: 6 }), sighting])(
    'another sighting never lowers the score',
    (sightings, extra) => {
      expect(computeScore({ sightings: [...sightings, extra] }).score).toBeGreaterThanOrEqual(
        computeScore({ sightings }).score,
      );
    },
  );
});
