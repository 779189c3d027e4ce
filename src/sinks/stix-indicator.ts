import { createHash } from 'node:crypto';
import type { DeliveryItem } from '../store/index.js';

// STIX 2.1 indicators for the sinks that speak STIX (Sentinel) and for `iocflow export --format stix`. The
// id is derived from the IOC key alone, so every upload of one IOC, retried or updated, lands on the same
// object at the receiver, and an export names the same object as the sink.

/** The iocflow namespace for UUIDv5 ids (itself a v5 UUID of "iocflow" under the URL namespace). */
const IOCFLOW_NAMESPACE = 'd8d3b457-2052-5fbf-9e42-53de8f5b2a05';

/** RFC 9562 UUID version 5 (SHA-1, name-based). */
export function uuidV5(name: string, namespace = IOCFLOW_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `indicator--<uuidv5 of the IOC key>`: stable per IOC. */
export function stixIndicatorId(key: string): string {
  return `indicator--${uuidV5(key)}`;
}

/** A STIX string literal: quotes and backslashes escaped (STIX 2.1 patterning, §9.2). */
function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const OBJECT_PATHS: Record<string, string> = {
  ipv4: 'ipv4-addr:value',
  ipv6: 'ipv6-addr:value',
  cidr: 'ipv4-addr:value',
  domain: 'domain-name:value',
  url: 'url:value',
  email: 'email-addr:value',
  md5: 'file:hashes.MD5',
  sha1: "file:hashes.'SHA-1'",
  sha256: "file:hashes.'SHA-256'",
};

/** The STIX pattern of an IOC, e.g. `[ipv4-addr:value = '1.2.3.4']`. */
export function stixPattern(type: string, value: string): string {
  const path = type === 'cidr' && value.includes(':') ? 'ipv6-addr:value' : (OBJECT_PATHS[type] ?? undefined);
  if (!path) throw new Error(`no STIX pattern for IOC type ${type}`);
  return `[${path} = ${literal(value)}]`;
}

const TLP_MARKINGS: Record<string, string> = {
  clear: 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
  white: 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
  green: 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da',
  amber: 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
  'amber+strict': 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
  red: 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
};

export interface StixIndicatorOptions {
  tlp?: string | undefined;
  /** Withdrawal: `revoke` marks it revoked, `expire` ends its validity when it was withdrawn. @default 'revoke' */
  withdraw?: 'revoke' | 'expire' | undefined;
}

/** What an indicator is built from: a sink's delivery, or an IOC of an export (always an upsert). */
export type StixIndicatorSource = Pick<
  DeliveryItem,
  | 'key'
  | 'type'
  | 'value'
  | 'score'
  | 'severity'
  | 'confidence'
  | 'expiresAt'
  | 'explanation'
  | 'evidence'
  | 'sources'
  | 'tags'
  | 'firstSeen'
  | 'scoredAt'
> & { action?: DeliveryItem['action'] };

/** RFC 3339 with milliseconds and Z, as Sentinel's samples write them. */
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The STIX 2.1 indicator for one delivery. `modified` is the score version's time (never before
 * `created`), for a withdrawal too: re-sending a version is byte-identical, and since a newer version is
 * always later (the store keeps version times rising), Sentinel, which keeps the newest `modified`, ends
 * on the newest decision even when an older one is delivered late.
 */
export function stixIndicator(item: StixIndicatorSource, options: StixIndicatorOptions) {
  const created = item.firstSeen;
  const withdrawn = item.action === 'withdraw';
  const modified = Math.max(created, item.scoredAt);
  const validUntil = withdrawn && options.withdraw === 'expire' ? modified : item.expiresAt;
  const summary = item.explanation.map((c) => `${c.factor}: ${c.input} (+${c.points})`).join('; ');
  return {
    type: 'indicator' as const,
    spec_version: '2.1' as const,
    id: stixIndicatorId(item.key),
    created: iso(created),
    modified: iso(modified),
    name: item.value,
    description: `iocflow score ${item.score} (${item.severity})${summary ? `: ${summary}` : ''}${item.evidence.length ? `. ${item.evidence.join('; ')}` : ''}`,
    indicator_types: ['malicious-activity'],
    pattern: stixPattern(item.type, item.value),
    pattern_type: 'stix' as const,
    pattern_version: '2.1' as const,
    valid_from: iso(created),
    // valid_until must be after valid_from; an expiry at or before first sight is left out.
    ...(validUntil !== null && validUntil > created ? { valid_until: iso(validUntil) } : {}),
    confidence: item.confidence,
    labels: [...new Set([...item.sources, ...item.tags])],
    ...(withdrawn && options.withdraw !== 'expire' ? { revoked: true } : {}),
    ...(options.tlp ? { object_marking_refs: [TLP_MARKINGS[options.tlp]!] } : {}),
  };
}

export type StixIndicator = ReturnType<typeof stixIndicator>;
