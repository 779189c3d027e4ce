import { z } from 'zod';

/** `30s`, `15m`, `4h`, `7d`: what Temporal and the store both read. */
export const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'a duration like 30s, 15m, 4h or 7d')
  .describe('duration');

export const confidence = z.number().int().min(0).max(100);

/** A credential: `${ENV_VAR}` in the file, never a literal in a committed config. */
export const secret = z.string().min(1, 'empty: set the environment variable it references');

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a config duration (`30s`, `4h`…; the schema guarantees the form). */
export function durationMs(value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (!match) throw new Error(`not a duration: ${value}`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
