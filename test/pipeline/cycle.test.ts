import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { sql } from 'drizzle-orm';
import { WORKFLOW_TYPES } from '../../src/shared/messages.js';
import { copySampleFeeds, SAMPLE_SOURCES, startPipeline, type Pipeline } from '../support/pipeline.js';

/** What the two sample feeds must produce; derived by hand from the files, not from the code. */
const BLOCKLIST_DISTINCT = 16; // 20 entries: 2 duplicates, 2 junk lines
const WATCHLIST_ONLY = 7; // 11 entries, 4 of them also on the blocklist, 8.8.8.8 allowlisted
const ON_BOTH = [
  '185.220.101.47',
  '194.26.192.64',
  'secure-login-office365.xyz',
  'ed01ebfbc9eb5bbea545af4d01bf5f1071661840480439c6e5babe8e080e41aa',
];

describe('an ingest cycle over the sample feeds', () => {
  let pipeline: Pipeline;
  let sinkFile: string;

  beforeAll(async () => {
    pipeline = await startPipeline(inject('temporalAddress'), {
      sources: SAMPLE_SOURCES,
      sinks: { jsonl: { type: 'file', path: 'out/delivered.jsonl' } },
    });
    copySampleFeeds(pipeline.dir);
    sinkFile = join(pipeline.dir, 'out', 'delivered.jsonl');
  });

  afterAll(async () => pipeline?.stop());

  test('first cycle stores every IOC once, enriches each in its own child and delivers those at 70 or more', async () => {
    const report = await pipeline.runCycle();

    const [blocklist, watchlist] = report.sources;
    expect(blocklist).toMatchObject({
      source: 'c2-blocklist',
      status: 'ok',
      entries: 20,
    });
    expect(blocklist!.rejected).toEqual({ unknown_type: 1, bad_ip: 1 });
    expect(watchlist).toMatchObject({
      source: 'community-watchlist',
      status: 'ok',
      entries: 11,
      allowlisted: 1,
    });
    // The two sources are collected in parallel: the IOCs they share are new to whichever stores them first.
    expect(blocklist!.newIocs + watchlist!.newIocs).toBe(BLOCKLIST_DISTINCT + WATCHLIST_ONLY);

    const db = pipeline.store.sqlite;
    const iocCount = db.prepare('select count(*) as n from iocs').get() as { n: number };
    const sightingCount = db.prepare('select count(*) as n from sightings').get() as { n: number };
    expect(iocCount.n).toBe(BLOCKLIST_DISTINCT + WATCHLIST_ONLY);
    expect(sightingCount.n).toBe(BLOCKLIST_DISTINCT + 11);

    expect(report.progress).toMatchObject({
      // Indicators each source read (18 + 11), and what the sink accepted.
      collected: 29,
      delivered: 16,
      planned: 22,
      started: 22,
      completed: 22,
      failed: 0,
      alreadyRunning: 0,
    });
    const children = await pipeline.client.workflow.count(
      `WorkflowType = '${WORKFLOW_TYPES.enrichIoc}' AND TaskQueue = '${pipeline.config.temporal.taskQueue}'`,
    );
    expect(children.count).toBe(22);

    // Blocklist-only IOCs (reliability 85, tagged c2) score 82, corroborated ones 88, watchlist-only ones 34: 16 reach the threshold.
    const lines = readFileSync(sinkFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(BLOCKLIST_DISTINCT);
    expect(new Set(lines.map((l) => l.delivery_id)).size).toBe(lines.length);
    for (const value of ON_BOTH) {
      expect(lines.find((l) => l.value === value)).toMatchObject({
        score: 88,
        sources: ['c2-blocklist', 'community-watchlist'],
      });
    }
    expect(lines.every((l) => (l.score as number) >= 70)).toBe(true);
    expect(report.sinks).toEqual([{ sink: 'jsonl', delivered: 16, rejected: 0, batches: 1, pending: 0 }]);
  });

  test('second cycle over the same feeds starts no child and delivers nothing new', async () => {
    const before = readFileSync(sinkFile, 'utf8');
    const report = await pipeline.runCycle();

    expect(report.sources.map((s) => s.newIocs)).toEqual([0, 0]);
    expect(report.progress).toMatchObject({ planned: 0, started: 0 });
    expect(report.sinks[0]).toMatchObject({ delivered: 0, pending: 0 });
    expect(readFileSync(sinkFile, 'utf8')).toBe(before);
    const children = await pipeline.client.workflow.count(
      `WorkflowType = '${WORKFLOW_TYPES.enrichIoc}' AND TaskQueue = '${pipeline.config.temporal.taskQueue}'`,
    );
    expect(children.count).toBe(22);
    const sightings = pipeline.store.db.get<{ n: number }>(sql`select count(*) as n from sightings`);
    expect(sightings.n).toBe(27);
  });

  test('an allowlisted resolver is stored with its list, scored 0 without a child, and never delivered', () => {
    const row = pipeline.store.sqlite
      .prepare("select status, allowlist, score from iocs where key = 'ipv4:8.8.8.8'")
      .get();
    expect(row).toEqual({ status: 'allowlisted', allowlist: 'builtin-public-dns', score: 0 });
    expect(readFileSync(sinkFile, 'utf8')).not.toContain('8.8.8.8');
  });

  test('an analyst finds one IOC by value in the search attributes', async () => {
    const found = [];
    for await (const wf of pipeline.client.workflow.list({
      query: `IocValue = '185.220.101.47' AND TaskQueue = '${pipeline.config.temporal.taskQueue}'`,
    })) {
      found.push(wf);
    }
    expect(found.map((w) => w.workflowId)).toEqual(['ioc:ipv4:185.220.101.47']);
    const attributes = found[0]!.typedSearchAttributes;
    expect(attributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
      expect.arrayContaining([
        ['IocType', 'ipv4'],
        ['IocScore', 88],
        ['IocStage', 'done'],
        ['IocSources', ['c2-blocklist', 'community-watchlist']],
      ]),
    );
  });
});
