import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { CycleReport, SourceReport } from '../../src/shared/messages.js';
import { startCycleNow } from '../../src/temporal/cycles.js';
import { startMispFake, type FakeAttribute, type MispFake } from '../fakes/misp.js';
import type { RecordedRequest } from '../fakes/server.js';
import { readStore, until } from '../faults/support/scenario.js';
import {
  connectClient,
  expireOrphanedAttempts,
  startWorkerProcess,
  writeTestConfig,
  type WorkerProcess,
} from '../faults/support/worker-process.js';

// A collect activity killed mid-pull is retried from its last heartbeat: the retry continues at the page
// after the heartbeat's cursor, with the counts the heartbeat carried, and asks nothing it already had.
// The worker runs as a child process and is SIGKILLed, as an operator's crash would be.

const KEY = 'resume-misp-key';
const ATTRIBUTES = 40;
const PAGE_SIZE = 4;
/** 10 full pages, then the short (empty) page that ends the paging. */
const PAGES = ATTRIBUTES / PAGE_SIZE + 1;
const T = Math.floor(Date.now() / 1000) - 3600;

const attributes: FakeAttribute[] = Array.from({ length: ATTRIBUTES }, (_, i) => ({
  uuid: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
  type: 'ip-dst',
  value: `198.51.100.${i + 1}`,
  to_ids: true,
  timestamp: T + i,
}));

interface Heartbeat {
  cursor: string;
  report: SourceReport;
}

const pageOf = (r: RecordedRequest) => (JSON.parse(r.body) as { page: number }).page;
const timestampOf = (r: RecordedRequest) => (JSON.parse(r.body) as { timestamp: string }).timestamp;

describe('a collect activity killed mid-pull', () => {
  let misp: MispFake;
  let worker: WorkerProcess;
  let close: () => Promise<void> = async () => undefined;
  let report: CycleReport;
  let dir: string;
  /** The heartbeat the server held when the worker died: what the retry got. */
  let recorded: Heartbeat;
  let killedAt: number;
  let orphansEnded: number;

  beforeAll(async () => {
    const address = inject('temporalAddress');
    misp = await startMispFake({
      apiKey: KEY,
      events: [
        { uuid: '5a3c2f5e-2f9c-4ad0-8fa0-46da02de0b81', info: 'paged', timestamp: T, Attribute: attributes },
      ],
    });
    // Slow pages, so the kill lands with pages still to come.
    misp.faults.delayMs = 400;
    const written = writeTestConfig(address, {
      sources: { misp: { type: 'misp', url: misp.url, apiKey: KEY, pageSize: PAGE_SIZE } },
    });
    dir = written.dir;
    const { connection, client } = await connectClient(address);
    close = async () => {
      await worker?.stop();
      await connection.close();
      await misp.close();
    };
    worker = startWorkerProcess(written.file, address);
    await worker.ready;
    const handle = await startCycleNow(client, written.config);

    const heartbeat = async (): Promise<Heartbeat | undefined> => {
      const described = await handle.describe();
      const collect = described.raw.pendingActivities?.find((a) => a.activityType?.name === 'collectSource');
      const payload = collect?.heartbeatDetails?.payloads?.[0];
      return payload ? defaultPayloadConverter.fromPayload<Heartbeat>(payload) : undefined;
    };
    // The SDK sends an activity's first heartbeat at once and throttles the rest (to 60 s under a 2-minute
    // heartbeat timeout): wait until the server holds one and two more pages were answered after it, so
    // the kill also leaves stored pages that no heartbeat covers.
    let held: Heartbeat | undefined;
    await until('a heartbeat on the server and pages past it', async () => {
      held ??= await heartbeat();
      if (!held) return false;
      const next = (JSON.parse(held.cursor) as { page: number }).page;
      return misp.requests.filter((r) => r.status === 200).some((r) => pageOf(r) >= next + 1);
    });
    recorded = (await heartbeat())!;
    await worker.kill();
    killedAt = Date.now();
    const dead = worker.identity;
    worker = startWorkerProcess(written.file, address);
    await worker.ready;
    // Stands in for the 2-minute heartbeat timeout of the killed attempt; the retry is the server's.
    orphansEnded = await expireOrphanedAttempts(client, written.config.temporal.taskQueue, dead);
    report = await handle.result();
  }, 180_000);

  afterAll(() => close());

  test('the retry starts at the page after the heartbeat, asking the same question', () => {
    expect(orphansEnded).toBe(1);
    const next = (JSON.parse(recorded.cursor) as { page: number }).page;
    expect(next).toBeGreaterThan(1);
    const retried = misp.requests.filter((r) => r.at > killedAt);
    expect(retried.map(pageOf)).toEqual(Array.from({ length: PAGES - next + 1 }, (_, i) => next + i));
    expect(new Set(misp.requests.map(timestampOf)).size).toBe(1);
  });

  test('pages the heartbeat covered were fetched once; later ones at most twice', () => {
    const next = (JSON.parse(recorded.cursor) as { page: number }).page;
    const counts = new Map<number, number>();
    for (const r of misp.requests) counts.set(pageOf(r), (counts.get(pageOf(r)) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: PAGES }, (_, i) => i + 1));
    for (const [page, n] of counts) {
      if (page < next) expect(n, `page ${page}`).toBe(1);
      else expect(n, `page ${page}`).toBeLessThanOrEqual(2);
    }
  });

  test('the store holds every attribute once and the report counts each entry once', () => {
    const rows = readStore(dir, (db) => ({
      values: (db.prepare('select value from iocs').all() as { value: string }[]).map((r) => r.value).sort(),
      sightings: (db.prepare('select count(*) as n from sightings').get() as { n: number }).n,
    }));
    expect(rows.values).toEqual(attributes.map((a) => a.value).sort());
    expect(rows.sightings).toBe(ATTRIBUTES);
    const source = report.sources.find((s) => s.source === 'misp')!;
    expect(source).toMatchObject({
      status: 'ok',
      entries: ATTRIBUTES,
      indicators: ATTRIBUTES,
      unreadable: 0,
    });
    // The heartbeat's counts were carried into the retry, not counted again from page 1.
    expect(recorded.report.entries).toBe(
      ((JSON.parse(recorded.cursor) as { page: number }).page - 1) * PAGE_SIZE,
    );
  });
});
