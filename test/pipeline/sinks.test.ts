import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { scoreAndRecord } from '../../src/pipeline/score.js';
import { stixIndicatorId } from '../../src/sinks/stix-indicator.js';
import { startCrowdStrikeFake, type FalconFake } from '../fakes/crowdstrike.js';
import { startMispFake, type MispFake } from '../fakes/misp.js';
import { startSentinelFake, type SentinelFake } from '../fakes/sentinel.js';
import { startSplunkHecFake, type HecFake } from '../fakes/splunk-hec.js';
import { copySampleFeeds, SAMPLE_SOURCES, startPipeline, type Pipeline } from '../support/pipeline.js';

/** The blocklist's 16 distinct IOCs score 85 or 91; of them Falcon takes all but 3 URLs and 1 SHA-1. */
const AT_THRESHOLD = 16;
const FALCON_TYPES = 12;
const WORKSPACE = '3f1c2d4e-0000-4000-8000-000000000001';
const EVENT = '5a3c2f5e-2f9c-4ad0-8fa0-46da02de0b81';

describe('a cycle delivering to Splunk HEC, Sentinel, CrowdStrike and MISP', () => {
  let pipeline: Pipeline;
  let hec: HecFake;
  let sentinel: SentinelFake;
  let falcon: FalconFake;
  let misp: MispFake;

  beforeAll(async () => {
    hec = await startSplunkHecFake({ tokens: { 'hec-token': { indexes: ['threat_intel'] } } });
    sentinel = await startSentinelFake({
      tenantId: 't1',
      clients: { app: 'app-secret' },
      workspaceId: WORKSPACE,
    });
    falcon = await startCrowdStrikeFake({ clients: { cs: 'cs-secret' } });
    misp = await startMispFake({
      apiKey: 'misp-key',
      events: [
        {
          uuid: EVENT,
          info: 'C2 infrastructure',
          timestamp: Math.floor(Date.now() / 1000) - 3600,
          Attribute: [
            {
              uuid: 'a-1',
              type: 'ip-dst',
              value: '185.220.101.47',
              to_ids: true,
              timestamp: Math.floor(Date.now() / 1000) - 3600,
            },
            {
              uuid: 'a-2',
              type: 'ip-dst',
              value: '91.92.109.99',
              to_ids: true,
              timestamp: Math.floor(Date.now() / 1000) - 3600,
            },
          ],
        },
      ],
    });
    pipeline = await startPipeline(inject('temporalAddress'), {
      sources: {
        ...SAMPLE_SOURCES,
        'misp-main': { type: 'misp', url: misp.url, apiKey: 'misp-key', reliability: 50 },
      },
      sinks: {
        splunk: { type: 'splunk-hec', url: hec.url, token: 'hec-token', index: 'threat_intel' },
        sentinel: sentinel.sinkConfig('app'),
        falcon: { type: 'crowdstrike', baseUrl: falcon.url, clientId: 'cs', clientSecret: 'cs-secret' },
        feedback: { type: 'misp-feedback', url: misp.url, apiKey: 'misp-key', sources: ['misp-main'] },
      },
    });
    copySampleFeeds(pipeline.dir);
  });

  afterAll(async () => {
    await pipeline?.stop();
    await Promise.all([hec?.close(), sentinel?.close(), falcon?.close(), misp?.close()]);
  });

  const scoreOf = (value: string) =>
    (pipeline.store.sqlite.prepare('select score from iocs where value = ?').get(value) as { score: number })
      .score;
  const confidenceOf = (value: string) =>
    (
      pipeline.store.sqlite
        .prepare(
          'select s.confidence from scores s join iocs i on i.id = s.ioc_id where i.value = ? order by s.version desc',
        )
        .get(value) as { confidence: number }
    ).confidence;

  const falconWrites = () =>
    falcon.requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/iocs')).length;

  test('first cycle delivers exactly the IOCs at or above each threshold, once each, despite a lost answer', async () => {
    // Splunk and Sentinel both do the work of the first request and lose the answer: the retry resends.
    hec.indexThenFail = 1;
    sentinel.storeThenFail = 1;
    const report = await pipeline.runCycle();
    const bySink = Object.fromEntries(report.sinks.map((s) => [s.sink, s]));
    expect(bySink.splunk).toMatchObject({ delivered: AT_THRESHOLD, rejected: 0, pending: 0 });
    expect(hec.deliveryIds().size).toBe(AT_THRESHOLD);
    expect(hec.events.length).toBe(2 * AT_THRESHOLD); // the lost answer's duplicates, recognisable by id
    expect(bySink.sentinel).toMatchObject({ delivered: AT_THRESHOLD, pending: 0 });
    expect(sentinel.indicators.size).toBe(AT_THRESHOLD);
    expect(bySink.falcon).toMatchObject({ delivered: FALCON_TYPES, rejected: AT_THRESHOLD - FALCON_TYPES });
    expect(falcon.indicators.size).toBe(FALCON_TYPES);
    // MISP feedback takes every scored IOC; two came from the MISP event and get a sighting each.
    expect(bySink.feedback!.pending).toBe(0);
    expect(misp.sightings.map((s) => s.attributeUuid).sort()).toEqual(['a-1', 'a-2']);
    expect(misp.attribute('a-2')!.Tag!.map((t) => t.name)).toContain(
      `iocflow:score="${scoreOf('91.92.109.99')}"`,
    );
  });

  test('a second cycle delivers nothing', async () => {
    const before = {
      hec: hec.events.length,
      sentinel: sentinel.uploads,
      falcon: falconWrites(),
      misp: misp.sightings.length,
    };
    const report = await pipeline.runCycle();
    expect(report.sinks.every((s) => s.delivered === 0 && s.batches === 0)).toBe(true);
    expect({
      hec: hec.events.length,
      sentinel: sentinel.uploads,
      falcon: falconWrites(),
      misp: misp.sightings.length,
    }).toEqual(before);
  });

  test('a re-scored IOC is updated once and a dropped one withdrawn once', async () => {
    // The blocklist now reports both with confidence 30, and a re-enrichment scores them through the real
    // scoring step: 185.220.101.47 stays above 70 (two other sources vouch for it), 45.155.205.233 drops.
    const db = pipeline.store.db;
    // The blocklist file stops listing them, or the next cycle's collect would restore its plain sighting.
    const feed = join(pipeline.dir, 'c2-blocklist.txt');
    writeFileSync(
      feed,
      readFileSync(feed, 'utf8')
        .split('\n')
        .filter((line) => !/^(185\.220\.101\.47|45\.155\.205\.233)\b/.test(line))
        .join('\n'),
    );
    pipeline.store.sqlite
      .prepare(
        `update sightings set confidence = 30 where source = 'c2-blocklist'
           and ioc_id in (select id from iocs where value in ('185.220.101.47', '45.155.205.233'))`,
      )
      .run();
    for (const value of ['185.220.101.47', '45.155.205.233']) {
      scoreAndRecord(db, pipeline.config, `ipv4:${value}`, 'rescore', Date.now());
    }
    const kept = scoreOf('185.220.101.47');
    expect(kept).toBeGreaterThanOrEqual(70);
    expect(scoreOf('45.155.205.233')).toBeLessThan(70);
    const hecBefore = hec.events.length;
    await pipeline.runCycle();
    await pipeline.runCycle();

    expect(hec.events.slice(hecBefore).map((e) => [e.event.value, e.event.action])).toEqual([
      ['185.220.101.47', 'add'],
      ['45.155.205.233', 'withdraw'],
    ]);
    const stix = (v: string) => sentinel.indicators.get(`iocflow|${stixIndicatorId(`ipv4:${v}`)}`)!;
    expect(stix('185.220.101.47')).toMatchObject({ object: { confidence: confidenceOf('185.220.101.47') } });
    expect(stix('45.155.205.233').object.revoked).toBe(true);
    expect(sentinel.active()).toHaveLength(AT_THRESHOLD - 1);
    expect(falcon.find('ipv4', '185.220.101.47')).toMatchObject({ severity: 'high' });
    expect(falcon.find('ipv4', '45.155.205.233')).toBeUndefined();
    expect(misp.attribute('a-1')!.Tag!.map((t) => t.name)).toEqual([
      `iocflow:score="${kept}"`,
      `iocflow:severity="${kept >= 90 ? 'critical' : 'high'}"`,
    ]);
    // The update is one more sighting of a-1, at the IOC's later last-seen time.
    expect(misp.sightings.map((s) => s.attributeUuid).sort()).toEqual(['a-1', 'a-1', 'a-2']);
  });
});
