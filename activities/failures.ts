import { ApplicationFailure } from '@temporalio/activity';
import { AuthRejectedError, HttpFailure, RateLimitedError } from '../src/http/failures.js';
import { FAILURE_TYPES } from '../src/shared/messages.js';

/**
 * Turns the typed HTTP failures of src/http into the ApplicationFailures the workflows' retry policies
 * understand: auth and request errors are final, 429 waits for Retry-After, the rest backs off.
 * @param rateWindowMs how long to wait after a 429 that names no delay (VirusTotal sends none): the
 *   service's rate window, after which the calls that filled it have left it. @default 60000
 */
export function toActivityFailure(err: unknown, rateWindowMs = 60_000): unknown {
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
