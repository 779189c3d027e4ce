import type { z } from 'zod';
import { ResponseInvalidError } from '../http/request.js';

/**
 * Reads a vendor response through its schema. A mismatch is not half-used: it fails the lookup with the
 * vendor's name and the first offending field, and is not retried (the same answer would come back).
 */
export function parseVendorResponse<T>(
  vendor: string,
  schema: z.ZodType<T>,
  body: unknown,
  status: number,
): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : '(body)';
  throw new ResponseInvalidError(
    `${vendor} answered in an unexpected shape at ${where}: ${issue?.message ?? 'invalid'}`,
    status,
    false,
  );
}
