import { z } from 'zod';
import { confidence, duration } from './primitives.js';

// The `scoring` section. Every weight, floor and lifetime of the score model is a setting; the defaults
// and the reasoning behind them are in docs/scoring.md.

const weight = z.number().min(0).max(1);

export const scoringSchema = z
  .object({
    threshold: confidence.default(70).describe('Default delivery threshold for sinks that set none.'),
    weights: z
      .object({
        source: weight.default(0.85).describe("Share of a source's confidence that counts as evidence."),
        tags: weight.default(0.35).describe('Weight of the strongest threat tag (c2, ransomware, apt…).'),
        virustotal: weight.default(0.5).describe('Weight of the VirusTotal verdict.'),
        abuseipdb: weight.default(0.4).describe('Weight of the AbuseIPDB confidence.'),
        shodan: weight.default(0.15).describe('Weight of Shodan tags (tor, proxy, c2…).'),
      })
      .strict()
      .prefault({}),
    virustotal: z
      .object({
        minMalicious: z
          .number()
          .int()
          .min(0)
          .default(3)
          .describe('Fewer malicious engines than this is not evidence.'),
        saturation: weight
          .default(0.5)
          .describe(
            'Share of engines flagging (malicious + half of suspicious) at which the evidence is full.',
          ),
      })
      .strict()
      .prefault({}),
    abuseipdb: z
      .object({
        minReports: z.number().int().min(0).default(2).describe('Fewer reports than this is not evidence.'),
      })
      .strict()
      .prefault({}),
    clean: z
      .object({
        minEngines: z
          .number()
          .int()
          .min(1)
          .default(50)
          .describe('Engines needed before zero detections means clean.'),
        minAgeDays: z
          .number()
          .int()
          .min(0)
          .default(180)
          .describe('History that makes a clean verdict strong.'),
        strongPenalty: weight.default(0.7).describe('Share of the score removed by a long clean history.'),
        penalty: weight.default(0.3).describe('Share removed by a clean verdict without that history.'),
        whitelistedPenalty: weight
          .default(0.5)
          .describe('Share removed when AbuseIPDB marks the IP whitelisted.'),
      })
      .strict()
      .prefault({}),
    lifetimes: z
      .object({
        ipv4: duration.default('30d'),
        ipv6: duration.default('30d'),
        cidr: duration.default('30d'),
        url: duration.default('30d'),
        domain: duration.default('90d'),
        email: duration.default('90d'),
        md5: duration.default('365d'),
        sha1: duration.default('365d'),
        sha256: duration.default('365d'),
      })
      .strict()
      .prefault({})
      .describe('How long after its last sighting an IOC stays alive; its score decays to 0 over this time.'),
    decaySpeed: z
      .number()
      .positive()
      .max(10)
      .default(0.5)
      .describe(
        'δ of score × (1 − (age/lifetime)^(1/δ)): below 1 keeps scores high longer, above 1 drops them early.',
      ),
    redeliverDelta: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(5)
      .describe('Decay records a new score only when it moved this many points (or crossed a threshold).'),
  })
  .strict();

export type ScoringConfig = z.infer<typeof scoringSchema>;
