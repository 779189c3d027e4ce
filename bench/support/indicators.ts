import { createHash } from 'node:crypto';

/**
 * The i-th of a deterministic mix of distinct indicators in equal thirds: IPs (which all three vendors
 * enrich), domains and file hashes (VirusTotal alone).
 */
export function mixedIndicator(i: number): string {
  switch (i % 3) {
    case 0: {
      const j = i / 3;
      return `45.${1 + (Math.floor(j / 62_500) % 250)}.${1 + (Math.floor(j / 250) % 250)}.${1 + (j % 250)}`;
    }
    case 1:
      return `host-${i}.bench-c2.net`;
    default:
      return createHash('sha256').update(String(i)).digest('hex');
  }
}
