// A child process for the store-kill test: writes batches of sightings through the store module, one
// transaction per batch, and says `committed <n>` after each. The parent SIGKILLs it mid-batch.
import { openStore, recordSightings, type Sighting } from '../../../src/store/index.js';

const [path, batchSizeText, startText = '0'] = process.argv.slice(2);
if (!path || !batchSizeText) throw new Error('usage: bulk-writer.ts <db path> <batch size> [first batch]');
const batchSize = Number(batchSizeText);
const store = openStore(path);

/** Batch n's sightings: distinct IPv4 IOCs, so each batch's rows are countable by its cycle id. */
function batch(n: number): Sighting[] {
  return Array.from({ length: batchSize }, (_, i) => {
    const k = n * batchSize + i;
    const value = `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
    return {
      key: `ipv4:${value}`,
      type: 'ipv4',
      value,
      source: 'bulk',
      tags: ['bulk'],
      seenAt: 1_700_000_000_000,
    };
  });
}

for (let n = Number(startText); ; n++) {
  recordSightings(store.db, batch(n), `batch-${n}`);
  process.stdout.write(`committed ${n}\n`);
}
