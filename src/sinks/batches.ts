/**
 * Splits items into consecutive chunks of at most `maxCount` items and `maxBytes` (by `sizeOf`). An item
 * larger than `maxBytes` on its own is returned in `oversized`, never sent: no request could carry it.
 */
export function chunkBySize<T>(
  items: readonly T[],
  maxCount: number,
  maxBytes: number,
  sizeOf: (item: T) => number,
): { chunks: T[][]; oversized: T[] } {
  const chunks: T[][] = [];
  const oversized: T[] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (size > maxBytes) {
      oversized.push(item);
      continue;
    }
    if (current.length > 0 && (current.length >= maxCount || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return { chunks, oversized };
}

/** Consecutive chunks of at most `size` items. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A caught value as an Error (what SendResult.failure carries). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
