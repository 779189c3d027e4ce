import type { SinkConfig } from '../config/index.js';
import type { DeliveryItem } from '../store/index.js';

export interface SinkContext {
  /** Read the in-flight marker this sink wrote for a batch that was never marked delivered. */
  readInflight(): unknown;
  /** Remember what is about to be written, so a retry can undo a half-finished batch. */
  writeInflight(state: unknown): void;
  signal?: AbortSignal | undefined;
}

export interface SendResult {
  /** Outbox rows the sink acknowledged; only these are marked delivered. */
  accepted: number[];
  /** Rows the sink refused for their content (4xx validation), with its message; not retried. */
  rejected: { outboxId: number; message: string }[];
  /**
   * Why the rest of the batch went unanswered (a 429 or 5xx after some requests went through). The
   * answered rows are settled first, then this is thrown, so a retry resends only what is unanswered
   * and keeps the failure's type (and Retry-After).
   */
  failure?: Error;
}

export interface Sink {
  readonly name: string;
  readonly config: SinkConfig;
  /** Delivers one batch. Throws on failures that should be retried (transport, 429, 5xx). */
  send(batch: readonly DeliveryItem[], context: SinkContext): Promise<SendResult>;
}
