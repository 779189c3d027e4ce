import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

// Times are epoch milliseconds (integers): cheap to compare and to index.

/** One row per canonical IOC (type, value). */
export const iocs = sqliteTable(
  'iocs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** `<type>:<canonical value>` */
    key: text('key').notNull(),
    type: text('type').notNull(),
    value: text('value').notNull(),
    firstSeen: integer('first_seen').notNull(),
    lastSeen: integer('last_seen').notNull(),
    /** new → scored; allowlisted IOCs are stored but never delivered. */
    status: text('status', { enum: ['new', 'scored', 'allowlisted'] })
      .notNull()
      .default('new'),
    /** Name of the allowlist that matched, if any. */
    allowlist: text('allowlist'),
    score: integer('score'),
    severity: text('severity'),
    /** Version of the latest row in `scores` for this IOC; 0 before the first score. */
    scoreVersion: integer('score_version').notNull().default(0),
    scoredAt: integer('scored_at'),
    /** Set by a re-enrich request; cleared when the IOC is scored again. */
    forceEnrich: integer('force_enrich', { mode: 'boolean' }).notNull().default(false),
    /**
     * When the IOC next needs a vendor lookup: the earliest cache expiry among its vendors, or the
     * scoring time when a vendor was skipped or unavailable (so the next cycle tries again).
     */
    enrichmentDueAt: integer('enrichment_due_at'),
    /**
     * When the decay step must next evaluate the IOC: when ageing alone can first have moved its score
     * enough to record (see nextDecayCheck), or 0 once its evidence changed. Null: not known yet, look now.
     * Triggers of migration 0003 set it to 0 when a sighting is added or its tags or confidence change.
     */
    decayDueAt: integer('decay_due_at'),
    /**
     * Whether a new sighting (age back to 0) could raise the score enough to record; when it could,
     * recording the sighting sets `decayDueAt` to 0.
     */
    decayOnSighting: integer('decay_on_sighting', { mode: 'boolean' }).notNull().default(true),
  },
  (t) => [
    uniqueIndex('iocs_key').on(t.key),
    index('iocs_score').on(t.score),
    index('iocs_due').on(t.enrichmentDueAt),
    index('iocs_decay_due').on(t.decayDueAt),
  ],
);

/** The vendor cache: the latest answer of each vendor about each IOC, and the latest failure. */
export const enrichments = sqliteTable(
  'enrichments',
  {
    iocId: integer('ioc_id')
      .notNull()
      .references(() => iocs.id),
    vendor: text('vendor').notNull(),
    /** When the vendor last answered (ok or not found); null while it never has. */
    fetchedAt: integer('fetched_at'),
    outcome: text('outcome', { enum: ['ok', 'not_found'] }),
    /** JSON: the vendor's typed verdict (what the scorer reads). */
    verdict: text('verdict'),
    /** The last time a lookup could not be made or failed, and why (never a credential). */
    gapAt: integer('gap_at'),
    gap: text('gap'),
  },
  (t) => [primaryKey({ columns: [t.iocId, t.vendor] })],
);

/** Calls made per vendor per UTC day: the daily budget is checked against this before each call. */
export const vendorUsage = sqliteTable(
  'vendor_usage',
  {
    vendor: text('vendor').notNull(),
    /** UTC day, YYYY-MM-DD. */
    day: text('day').notNull(),
    calls: integer('calls').notNull().default(0),
    /** Set when the vendor said the quota is spent (a long Retry-After): no more calls that day. */
    exhausted: integer('exhausted', { mode: 'boolean' }).notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.vendor, t.day] })],
);

/** Provenance: which source saw which IOC, where, with what context. */
export const sightings = sqliteTable(
  'sightings',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    iocId: integer('ioc_id')
      .notNull()
      .references(() => iocs.id),
    source: text('source').notNull(),
    /** Event / pulse id, feed URL or file: where in the source. Empty when the source has no finer reference. */
    sourceRef: text('source_ref').notNull().default(''),
    /** JSON array of strings. */
    tags: text('tags').notNull().default('[]'),
    /** The entry's own confidence (0–100) when the source gives one. */
    confidence: integer('confidence'),
    firstSeen: integer('first_seen').notNull(),
    lastSeen: integer('last_seen').notNull(),
    /** Cycle that last saw it. */
    cycleId: text('cycle_id').notNull(),
  },
  (t) => [uniqueIndex('sightings_ioc_source_ref').on(t.iocId, t.source, t.sourceRef)],
);

/** Every score an IOC ever had: the explanation of each is kept, never overwritten. */
export const scores = sqliteTable(
  'scores',
  {
    iocId: integer('ioc_id')
      .notNull()
      .references(() => iocs.id),
    version: integer('version').notNull(),
    score: integer('score').notNull(),
    severity: text('severity').notNull(),
    /** How much evidence stands behind the score (0–100), distinct from how bad it is. */
    confidence: integer('confidence').notNull().default(0),
    /** When the IOC's lifetime ends unless seen again: sinks expire it then. */
    expiresAt: integer('expires_at'),
    modelVersion: integer('model_version').notNull(),
    /** JSON: the contributions that add up to the score. */
    explanation: text('explanation').notNull(),
    computedAt: integer('computed_at').notNull(),
    cycleId: text('cycle_id'),
  },
  (t) => [primaryKey({ columns: [t.iocId, t.version] })],
);

/** What each sink must receive. A row is pending while it has no delivery. */
export const outbox = sqliteTable(
  'outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    iocId: integer('ioc_id')
      .notNull()
      .references(() => iocs.id),
    sink: text('sink').notNull(),
    action: text('action', { enum: ['upsert', 'withdraw'] }).notNull(),
    scoreVersion: integer('score_version').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('outbox_identity').on(t.iocId, t.sink, t.scoreVersion, t.action),
    index('outbox_sink').on(t.sink, t.id),
    // A scoring asks what the sink last received for its IOC. Without this index SQLite walks the sink's
    // whole outbox in id order (outbox_sink) to find it: a cost per IOC that grew with the store.
    index('outbox_ioc_sink').on(t.iocId, t.sink, t.id),
  ],
);

/** The delivery ledger: what each sink acknowledged or refused. One row per outbox row at most. */
export const deliveries = sqliteTable(
  'deliveries',
  {
    outboxId: integer('outbox_id')
      .primaryKey()
      .references(() => outbox.id),
    sink: text('sink').notNull(),
    /** `rejected`: the sink refused the indicator's content; its message is kept and it is not retried. */
    outcome: text('outcome', { enum: ['delivered', 'rejected'] }).notNull(),
    message: text('message'),
    deliveredAt: integer('delivered_at').notNull(),
    cycleId: text('cycle_id'),
  },
  // A cycle's report counts what each sink settled in it.
  (t) => [index('deliveries_sink_cycle').on(t.sink, t.cycleId)],
);

/** What a sink wrote for a batch it has not yet marked delivered (e.g. a file offset), so a retry can undo it. Cleared in the same transaction that writes the deliveries. */
export const sinkInflight = sqliteTable('sink_inflight', {
  sink: text('sink').primaryKey(),
  /** JSON, owned by the sink. */
  state: text('state').notNull(),
});

/**
 * Who drains each sink's outbox now: a sink's exactly-once (its in-flight marker, its ack ids) holds only
 * with one drainer at a time. A row is held until `expires_at` unless its holder renews it; an expired
 * row is free for the next drainer to take over.
 */
export const sinkLeases = sqliteTable('sink_leases', {
  sink: text('sink').primaryKey(),
  /** The deliver attempt holding the lease (workflow, activity, attempt). */
  holder: text('holder').notNull(),
  expiresAt: integer('expires_at').notNull(),
});

export const cycles = sqliteTable('cycles', {
  id: text('id').primaryKey(),
  startedAt: integer('started_at').notNull(),
  finishedAt: integer('finished_at'),
  /** JSON: the cycle report. */
  stats: text('stats'),
});

/** The cycle's enrichment work list; IngestCycle pages through it by `seq`. */
export const cycleWork = sqliteTable(
  'cycle_work',
  {
    cycleId: text('cycle_id').notNull(),
    seq: integer('seq').notNull(),
    iocId: integer('ioc_id')
      .notNull()
      .references(() => iocs.id),
  },
  (t) => [primaryKey({ columns: [t.cycleId, t.seq] })],
);

/** Per-source watermarks and conditional-request validators; moved only after a successful pull. */
export const sourceState = sqliteTable('source_state', {
  source: text('source').primaryKey(),
  watermark: text('watermark'),
  etag: text('etag'),
  lastModified: text('last_modified'),
  lastSuccessAt: integer('last_success_at'),
  lastError: text('last_error'),
  updatedAt: integer('updated_at')
    .notNull()
    .default(sql`(unixepoch() * 1000)`),
});
