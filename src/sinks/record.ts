import type { DeliveryItem } from '../store/index.js';

/**
 * One delivery as a flat record with snake_case fields and ISO times: the body of a file line and of a
 * Splunk event alike, so both read the same in a SIEM search.
 */
export function deliveryRecord(item: DeliveryItem) {
  return {
    delivery_id: item.deliveryId,
    action: item.action as string,
    type: item.type,
    value: item.value,
    score: item.score,
    severity: item.severity,
    confidence: item.confidence,
    score_version: item.scoreVersion,
    explanation: item.explanation,
    sources: item.sources,
    tags: item.tags,
    evidence: item.evidence,
    first_seen: new Date(item.firstSeen).toISOString(),
    last_seen: new Date(item.lastSeen).toISOString(),
    expires_at: item.expiresAt === null ? null : new Date(item.expiresAt).toISOString(),
  };
}
