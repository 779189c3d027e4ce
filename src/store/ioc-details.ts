import { asc, desc, eq } from 'drizzle-orm';
import { describeLookup, type VendorName } from '../enrichers/types.js';
import { storedLookup } from './enrichments.js';
import type { Contribution } from '../scoring/index.js';
import type { StoreDb } from './open.js';
import { deliveries, enrichments, iocs, outbox, scores, sightings } from './schema.js';

/** Everything the store knows of one IOC, as `iocflow show` prints it. */
export interface IocDetails {
  key: string;
  type: string;
  value: string;
  status: string;
  allowlist: string | null;
  firstSeen: string;
  lastSeen: string;
  score: {
    version: number;
    score: number;
    severity: string;
    confidence: number;
    expiresAt: string | null;
    modelVersion: number;
    computedAt: string;
    explanation: Contribution[];
  } | null;
  history: { version: number; score: number; computedAt: string }[];
  sightings: {
    source: string;
    ref: string;
    tags: string[];
    confidence: number | null;
    firstSeen: string;
    lastSeen: string;
  }[];
  vendors: {
    vendor: string;
    fetchedAt: string | null;
    said: string | null;
    gap: string | null;
    gapAt: string | null;
  }[];
  deliveries: {
    sink: string;
    action: string;
    scoreVersion: number;
    outcome: string;
    at: string | null;
    message: string | null;
  }[];
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function iocDetails(db: StoreDb, key: string): IocDetails | undefined {
  const ioc = db.select().from(iocs).where(eq(iocs.key, key)).get();
  if (!ioc) return undefined;
  const versions = db
    .select()
    .from(scores)
    .where(eq(scores.iocId, ioc.id))
    .orderBy(desc(scores.version))
    .all();
  const latest = versions[0];
  return {
    key: ioc.key,
    type: ioc.type,
    value: ioc.value,
    status: ioc.status,
    allowlist: ioc.allowlist,
    firstSeen: iso(ioc.firstSeen)!,
    lastSeen: iso(ioc.lastSeen)!,
    score: latest
      ? {
          version: latest.version,
          score: latest.score,
          severity: latest.severity,
          confidence: latest.confidence,
          expiresAt: iso(latest.expiresAt),
          modelVersion: latest.modelVersion,
          computedAt: iso(latest.computedAt)!,
          explanation: JSON.parse(latest.explanation) as Contribution[],
        }
      : null,
    history: versions.map((v) => ({ version: v.version, score: v.score, computedAt: iso(v.computedAt)! })),
    sightings: db
      .select()
      .from(sightings)
      .where(eq(sightings.iocId, ioc.id))
      .orderBy(asc(sightings.source))
      .all()
      .map((s) => ({
        source: s.source,
        ref: s.sourceRef,
        tags: JSON.parse(s.tags) as string[],
        confidence: s.confidence,
        firstSeen: iso(s.firstSeen)!,
        lastSeen: iso(s.lastSeen)!,
      })),
    vendors: db
      .select()
      .from(enrichments)
      .where(eq(enrichments.iocId, ioc.id))
      .orderBy(asc(enrichments.vendor))
      .all()
      .map((e) => {
        const lookup = storedLookup(e.outcome, e.verdict);
        return {
          vendor: e.vendor,
          fetchedAt: iso(e.fetchedAt),
          said: lookup ? describeLookup(e.vendor as VendorName, lookup) : null,
          gap: e.gap,
          gapAt: iso(e.gapAt),
        };
      }),
    deliveries: db
      .select({
        sink: outbox.sink,
        action: outbox.action,
        scoreVersion: outbox.scoreVersion,
        outcome: deliveries.outcome,
        at: deliveries.deliveredAt,
        message: deliveries.message,
      })
      .from(outbox)
      .leftJoin(deliveries, eq(deliveries.outboxId, outbox.id))
      .where(eq(outbox.iocId, ioc.id))
      .orderBy(asc(outbox.id))
      .all()
      .map((d) => ({ ...d, outcome: d.outcome ?? 'pending', at: iso(d.at) })),
  };
}
