// A set of IP ranges answered by binary search over sorted, merged intervals: O(log n) per lookup,
// so a list of 60k resolvers or 4k cloud ranges costs the same per indicator as a list of three.
// Merging adjacent blocks also makes "CIDR fully inside the list" exact when the list covers it
// with several smaller blocks.

import type { CidrBlock } from './ip.js';

const IPV6_ALL = (1n << 128n) - 1n;

export class IpRangeSet {
  private constructor(
    private readonly v4Starts: Float64Array,
    private readonly v4Ends: Float64Array,
    private readonly v6Starts: bigint[],
    private readonly v6Ends: bigint[],
  ) {}

  static fromBlocks(blocks: Iterable<CidrBlock>): IpRangeSet {
    const v4: [number, number][] = [];
    const v6: [bigint, bigint][] = [];
    for (const block of blocks) {
      if (block.family === 4) v4.push([block.network, block.network + 2 ** (32 - block.prefix) - 1]);
      else v6.push([block.network, block.network + (IPV6_ALL >> BigInt(block.prefix))]);
    }
    const mergedV4 = mergeIntervals(v4, 1);
    const mergedV6 = mergeIntervals(v6, 1n);
    return new IpRangeSet(
      Float64Array.from(mergedV4, ([start]) => start),
      Float64Array.from(mergedV4, ([, end]) => end),
      mergedV6.map(([start]) => start),
      mergedV6.map(([, end]) => end),
    );
  }

  get size(): number {
    return this.v4Starts.length + this.v6Starts.length;
  }

  /** True when every address from start to end (inclusive) is in the set. */
  containsV4(start: number, end = start): boolean {
    const i = lastStartAtOrBelow(this.v4Starts, start);
    return i >= 0 && end <= this.v4Ends[i]!;
  }

  containsV6(start: bigint, end = start): boolean {
    const i = lastStartAtOrBelow(this.v6Starts, start);
    return i >= 0 && end <= this.v6Ends[i]!;
  }
}

function mergeIntervals<T extends number | bigint>(intervals: [T, T][], one: T): [T, T][] {
  intervals.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [T, T][] = [];
  for (const [start, end] of intervals) {
    const last = merged[merged.length - 1];
    // `last[1] + one` in the generic type: numbers and bigints never mix here.
    if (last && start <= (last[1] as number) + (one as number)) {
      if (end > last[1]) last[1] = end;
    } else {
      merged.push([start, end]);
    }
  }
  return merged;
}

function lastStartAtOrBelow<T extends number | bigint>(starts: ArrayLike<T>, value: T): number {
  let low = 0;
  let high = starts.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if (starts[mid]! <= value) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}
