import { createHash } from 'node:crypto';
import { canonicalKey, normaliseEntry } from '../../src/ioc/index.js';
import type { Sighting } from '../../src/store/index.js';

/**
 * The j-th of over 15 million distinct public IPv4 addresses, every octet in 1–250 so that none is a network,
 * broadcast or otherwise reserved address the normaliser would reject.
 */
export function benchIp(j: number): string {
  return `45.${1 + (Math.floor(j / 62_500) % 250)}.${1 + (Math.floor(j / 250) % 250)}.${1 + (j % 250)}`;
}

/**
 * The i-th of a deterministic mix of distinct indicators in equal thirds: IPs (which all three vendors
 * enrich), domains and file hashes (VirusTotal alone).
 */
export function mixedIndicator(i: number): string {
  switch (i % 3) {
    case 0:
      return benchIp(i / 3);
    case 1:
      return `host-${i}.bench-c2.net`;
    default:
      return createHash('sha256').update(String(i)).digest('hex');
  }
}

/** The benches' feed as the store receives it: one sighting of each raw value by the source `feed`. */
export function feedSightings(values: readonly string[], seenAt: number, tags: string[] = []): Sighting[] {
  return values.map((raw) => {
    const outcome = normaliseEntry(raw)[0];
    if (outcome?.kind !== 'indicator') throw new Error(`bench indicator rejected: ${raw}`);
    const { type, value } = outcome;
    return { key: canonicalKey(outcome), type, value, source: 'feed', tags, seenAt };
  });
}
