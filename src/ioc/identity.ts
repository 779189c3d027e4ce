import { createHash } from 'node:crypto';
import { parseKey } from './types.js';

/** Workflow IDs and Keyword search attributes stay well under the server's limits (1000 / 255 bytes). */
const MAX_READABLE_KEY = 200;
const MAX_SEARCH_VALUE_BYTES = 255;

/** `ioc:<type>:<value>`, or `ioc:<type>:sha256:<hex>` when the value is too long to read as an ID. */
export function iocWorkflowId(key: string): string {
  if (key.length <= MAX_READABLE_KEY) return `ioc:${key}`;
  const { type, value } = parseKey(key);
  return `ioc:${type}:sha256:${sha256(value)}`;
}

/** The value as the `IocValue` search attribute holds it: itself, or `sha256:<hex>` when too long. */
export function iocSearchValue(value: string): string {
  return Buffer.byteLength(value, 'utf8') <= MAX_SEARCH_VALUE_BYTES ? value : `sha256:${sha256(value)}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
