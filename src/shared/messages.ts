// Names and small DTOs that cross the workflow boundary. Imported by workflows, activities and clients
// alike, so it may import nothing but @temporalio/common and @temporalio/workflow.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const WORKFLOW_TYPES = { ingestCycle: 'IngestCycle', enrichIoc: 'EnrichIoc' } as const;

export const SEARCH_ATTRIBUTES = {
  iocType: defineSearchAttributeKey('IocType', SearchAttributeType.KEYWORD),
  iocValue: defineSearchAttributeKey('IocValue', SearchAttributeType.KEYWORD),
  iocScore: defineSearchAttributeKey('IocScore', SearchAttributeType.INT),
  iocSources: defineSearchAttributeKey('IocSources', SearchAttributeType.KEYWORD_LIST),
  iocStage: defineSearchAttributeKey('IocStage', SearchAttributeType.KEYWORD),
} as const;

/** Failure types raised by activities and named by the workflows' retry policies. */
export const FAILURE_TYPES = {
  /** The configuration points at something that is not there: retrying will not help. */
  notConfigured: 'NotConfigured',
  iocNotFound: 'IocNotFound',
  /** 401/403: the credential is wrong or revoked. */
  authRejected: 'AuthRejected',
  /** Any other 4xx, or a response in a shape the schema rejects: the same request would fail again. */
  requestRejected: 'RequestRejected',
  /** 429: retried after the delay the service asked for. */
  rateLimited: 'RateLimited',
  /** 5xx, timeouts, unreachable: retried with backoff. */
  unavailable: 'Unavailable',
  /** Another deliver attempt holds the sink's lease: retried after a short wait. */
  sinkBusy: 'SinkBusy',
} as const;

/** The vendors, and the activity each one's task queue runs (one name per vendor reads well in a timeline). */
export const VENDOR_ACTIVITIES = {
  virustotal: 'enrichVirusTotal',
  shodan: 'enrichShodan',
  abuseipdb: 'enrichAbuseIpdb',
} as const;
export type Vendor = keyof typeof VENDOR_ACTIVITIES;

/** Each vendor's activities run on a task queue of their own, so its rate limit holds across workers. */
export function vendorTaskQueue(mainQueue: string, vendor: Vendor): string {
  return `${mainQueue}-vendor-${vendor}`;
}

export type IocStage = 'queued' | 'enriching' | 'scoring' | 'scored' | 'delivering' | 'done';

/** What a vendor activity did: a fresh or cached answer, or no call (budget or quota spent). */
export type VendorLookupResult =
  | { vendor: Vendor; status: 'fetched' | 'cached'; outcome: 'ok' | 'not_found'; brief: string }
  | { vendor: Vendor; status: 'skipped'; reason: string };

/** What one vendor step of an enrichment came to, failures included. Small enough for history. */
export type VendorStep = VendorLookupResult | { vendor: Vendor; status: 'failed'; reason: string };

/** Per-source outcome of the collect step. */
export interface SourceReport {
  source: string;
  status: 'ok' | 'failed';
  /** Raw entries read. */
  entries: number;
  /** Valid indicators among them (allowlisted included). */
  indicators: number;
  /** IOCs stored for the first time. */
  newIocs: number;
  allowlisted: number;
  /** Rejected entries per reason (`empty`, `unknown_type`, `bad_ip`…). */
  rejected: Record<string, number>;
  /** Entries the source could not read at all (bad record, wrong columns…). */
  unreadable: number;
  /** Records the source read and deliberately left out, per reason (`offline`, `revoked`, `expired`…). */
  skipped?: Record<string, number>;
  /** The first few problems, each naming its position in the source. */
  problems: string[];
  /** Why the source failed, without secrets. */
  error?: string;
}

/** A source's report before its first entry (or after it failed). */
export function emptyReport(source: string): SourceReport {
  return {
    source,
    status: 'ok',
    entries: 0,
    indicators: 0,
    newIocs: 0,
    allowlisted: 0,
    rejected: {},
    unreadable: 0,
    problems: [],
  };
}

export interface SinkReport {
  sink: string;
  delivered: number;
  rejected: number;
  batches: number;
  /** Rows still waiting (e.g. the sink failed); they go out next cycle. */
  pending: number;
  error?: string;
}

export interface CycleProgress {
  stage: 'collecting' | 'planning' | 'enriching' | 'decaying' | 'delivering' | 'done';
  /** Valid indicators read by the sources that have finished so far. */
  collected?: number;
  planned: number;
  started: number;
  completed: number;
  /** Children already running for the same IOC (e.g. an analyst's re-enrichment). */
  alreadyRunning: number;
  failed: number;
  scoreChanged: number;
  /** Aged scores recorded by the decay step, and how many of them reached the end of their lifetime. */
  decayed?: number;
  expired?: number;
  /** IOCs the sinks that have finished so far accepted (additions and withdrawals). */
  delivered?: number;
}

export interface CycleReport {
  cycleId: string;
  sources: SourceReport[];
  progress: CycleProgress;
  sinks: SinkReport[];
}

/** What a cycle touches, read from the worker's configuration when it starts. */
export interface CyclePlan {
  sources: string[];
  sinks: string[];
  maxConcurrentChildren: number;
}

export interface IngestCycleInput {
  /** Set only by continue-as-new: where the previous run stopped. */
  resume?: { plan: CyclePlan; cursor: number; sources: SourceReport[]; progress: CycleProgress };
}

/** One entry of the cycle's work list, with the identity its workflow needs. */
export interface WorkItem {
  seq: number;
  key: string;
  vendors: Vendor[];
  workflowId: string;
  iocType: string;
  /** Search-attribute form of the value: the value itself, or its hash when too long to index. */
  iocValue: string;
}

export interface EnrichIocInput {
  key: string;
  /** The enabled vendors that apply to the IOC's type, decided by the worker's config when it was planned. */
  vendors: Vendor[];
  /** The cycle that started it; absent for an analyst's re-enrichment. */
  cycleId?: string;
  /** Re-enrich even where the cache is fresh. */
  force?: boolean;
}

export interface EnrichIocResult {
  key: string;
  score: number;
  severity: string;
  scoreVersion: number;
  /** False when the score equalled the previous one, so the sinks got nothing new. */
  changed: boolean;
}

export interface IocStatus {
  key: string;
  stage: IocStage;
  vendors?: VendorStep[];
  score?: number;
  severity?: string;
  explanation?: { factor: string; input: string; points: number }[];
}

/** Ask an EnrichIoc to enrich and score its IOC again, bypassing the cache. */
export const reenrichSignal = defineSignal<[{ reason?: string }?]>('reenrich');
export const statusQuery = defineQuery<IocStatus>('status');
export const progressQuery = defineQuery<CycleProgress>('progress');
