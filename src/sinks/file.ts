import { mkdir, open, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SinkConfig } from '../config/index.js';
import type { DeliveryItem } from '../store/index.js';
import { deliveryRecord } from './record.js';
import type { SendResult, Sink, SinkContext } from './types.js';

type FileConfig = Extract<SinkConfig, { type: 'file' }>;

interface FileInflight {
  /** File size before the unacknowledged batch was appended. */
  offset: number;
}

/**
 * Appends one JSON line per delivery to a local file. Exactly once: before appending, the sink records
 * the file size as its in-flight marker; a retry finding that marker truncates back to it, undoing a
 * batch that was written but never marked delivered.
 */
export function fileSink(name: string, config: FileConfig): Sink {
  return {
    name,
    config,
    async send(batch: readonly DeliveryItem[], context: SinkContext): Promise<SendResult> {
      await mkdir(dirname(config.path), { recursive: true });
      const inflight = context.readInflight() as FileInflight | undefined;
      if (inflight) await truncate(config.path, inflight.offset).catch(ignoreMissing);
      const offset = await stat(config.path).then(
        (s) => s.size,
        () => 0,
      );
      context.writeInflight({ offset } satisfies FileInflight);
      const handle = await open(config.path, 'a');
      try {
        await handle.write(batch.map((item) => JSON.stringify(deliveryRecord(item)) + '\n').join(''));
        await handle.sync();
      } finally {
        await handle.close();
      }
      return { accepted: batch.map((item) => item.outboxId), rejected: [] };
    },
  };
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
