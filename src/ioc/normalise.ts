import { canonicalKey, type IocType, type NormaliseOutcome } from './types.js';

// Minimal first cut (walking skeleton): trim, lowercase, detect type. The full refang/validate rules
// replace the internals of this module; its signature is the contract the pipeline relies on.

const HASH_TYPES: Record<number, IocType> = { 32: 'md5', 40: 'sha1', 64: 'sha256' };
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/**
 * Normalises one raw entry into zero or more canonical indicators or rejections.
 * @param raw the entry's value as the source gave it
 * @param typeHint the source's own type name for the entry (`ip-dst`, `IPv4`, `FileHash-SHA256`…), if any
 */
export function normaliseEntry(raw: string, _typeHint?: string): NormaliseOutcome[] {
  const value = raw.trim();
  if (value === '') return [{ kind: 'rejected', reason: 'empty' }];
  const lower = value.toLowerCase();
  if (/^[0-9a-f]+$/.test(lower) && HASH_TYPES[lower.length]) {
    return [indicator(HASH_TYPES[lower.length]!, lower)];
  }
  if (IPV4.test(value)) return [indicator('ipv4', value)];
  if (/^https?:\/\//i.test(value)) return [indicator('url', value)];
  if (DOMAIN.test(lower)) return [indicator('domain', lower.replace(/\.$/, ''))];
  return [{ kind: 'rejected', reason: 'unknown_type' }];
}

function indicator(type: IocType, value: string): NormaliseOutcome {
  return { kind: 'indicator', type, value, key: canonicalKey({ type, value }) };
}
