import { ApplicationFailure } from '@temporalio/activity';
import { AuthRejectedError, HttpFailure, RateLimitedError } from '../src/http/failures.js';
import { SinkBusyError } from '../src/pipeline/deliver.js';
import { FAILURE_TYPES } from '../src/shared/messages.js';

/**
 * How long a delivery waits when another attempt holds its sink's lease. The retry policy's attempts (8 in
 * workflows/ingest-cycle.ts) then span 7 × 30 s = 3.5 min, longer than the lease's TTL (2 min,
 * src/pipeline/deliver.ts): the lease of an attempt whose worker died always expires before the retries run
 * out, and a live drain of another cycle has that long to empty the outbox. Temporal's own backoff would
 * make the waits uneven and shorter at first.
 */
export const SINK_BUSY_RETRY_MS = 30_000;

/**
 * Turns the typed HTTP failures of src/http into the ApplicationFailures the workflows' retry policies
 * understand: auth and request errors are final, 429 waits for Retry-After, a busy sink waits a few
 * seconds, the rest backs off.
 * @param rateWindowMs how long to wait after a 429 that names no delay (VirusTotal sends none): the
 *   service's rate window, after which the calls that filled it have left it. @default 60000
 */
export function toActivityFailure(err: unknown, rateWindowMs = 60_000): unknown {
  if (err instanceof SinkBusyError) {
    return ApplicationFailure.create({
      message: err.message,
      type: FAILURE_TYPES.sinkBusy,
      nextRetryDelay: SINK_BUSY_RETRY_MS,
    });
  }
  if (!(err instanceof HttpFailure)) return err;
  if (err instanceof RateLimitedError) {
    return ApplicationFailure.create({
      message: err.message,
      type: FAILURE_TYPES.rateLimited,
      nextRetryDelay: err.retryAfterMs ?? rateWindowMs,
    });
  }
  if (err instanceof AuthRejectedError) {
    return ApplicationFailure.create({
      message: err.message,
      type: FAILURE_TYPES.authRejected,
      nonRetryable: true,
    });
  }
  if (!err.retryable) {
    return ApplicationFailure.create({
      message: err.message,
      type: FAILURE_TYPES.requestRejected,
      nonRetryable: true,
    });
  }
  return ApplicationFailure.create({ message: err.message, type: FAILURE_TYPES.unavailable });
}
