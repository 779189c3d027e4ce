import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { startFileFake, type FileFake } from '../fakes/files.js';
import { startMispFake, type MispFake } from '../fakes/misp.js';
import { startOtxFake, type OtxFake } from '../fakes/otx.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';

const SHARED = '45.61.49.78';

describe('a cycle over MISP, OTX and Feodo Tracker fakes', () => {
  let misp: MispFake;
  let otx: OtxFake;
  let feodo: FileFake;
  let pipeline: Pipeline;

  beforeAll(async () => {
    const now = Math.floor(Date.now() / 1000);
    misp = await startMispFake({
      apiKey: 'misp-key',
      events: [
        {
          uuid: '5a3c2f5e-2f9c-4ad0-8fa0-46da02de0b81',
          info: 'C2',
          timestamp: now - 60,
          Tag: [{ name: 'tlp:green' }],
          Attribute: [
            { uuid: 'a1', type: 'ip-dst', value: SHARED, to_ids: true, timestamp: now - 60 },
            { uuid: 'a2', type: 'domain', value: 'misp-only.example.com', to_ids: true, timestamp: now - 60 },
          ],
        },
      ],
    });
    otx = await startOtxFake({
      apiKey: 'otx-key',
      pulses: [
        {
          id: '64e38336d783f91d6948a7b1',
          name: 'C2 pulse',
          modified: new Date(Date.now() - 60_000).toISOString().slice(0, 19),
          indicators: [{ id: 1, indicator: SHARED, type: 'IPv4' }],
        },
      ],
    });
    feodo = await startFileFake();
    feodo.put(
      '/downloads/ipblocklist.json',
      JSON.stringify([{ ip_address: SHARED, port: 443, status: 'online', malware: 'QakBot' }]),
      'application/json',
    );
    pipeline = await startPipeline(inject('temporalAddress'), {
      sources: {
        misp: { type: 'misp', url: misp.url, apiKey: 'misp-key', reliability: 80 },
        otx: { type: 'otx', url: otx.url, apiKey: 'otx-key', reliability: 60 },
        feodo: { type: 'feodo', url: `${feodo.url}/downloads/ipblocklist.json`, reliability: 85 },
      },
      sinks: { jsonl: { type: 'file', path: 'out/delivered.jsonl' } },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await Promise.all([misp?.close(), otx?.close(), feodo?.close()]);
  });

  test('the same indicator from three sources is one IOC with three sightings', async () => {
    const report = await pipeline.runCycle();
    expect(report.sources.map((s) => [s.source, s.status, s.entries])).toEqual([
      ['misp', 'ok', 2],
      ['otx', 'ok', 1],
      ['feodo', 'ok', 1],
    ]);
    const db = pipeline.store.sqlite;
    expect(db.prepare('select count(*) as n from iocs').get()).toEqual({ n: 2 });
    const sightings = db
      .prepare(
        'select s.source from sightings s join iocs i on i.id = s.ioc_id where i.key = ? order by s.source',
      )
      .all(`ipv4:${SHARED}`) as { source: string }[];
    expect(sightings.map((s) => s.source)).toEqual(['feodo', 'misp', 'otx']);
  });

  test('a second cycle asks each source only for what changed', async () => {
    for (const fake of [misp, otx, feodo]) fake.requests.length = 0;
    const report = await pipeline.runCycle();
    expect(report.sources.map((s) => s.newIocs)).toEqual([0, 0, 0]);
    expect(feodo.requests.map((r) => r.headers['if-none-match'])).toEqual([expect.any(String)]);
    expect(otx.requests[0]!.query.get('modified_since')).toBeTruthy();
    expect((JSON.parse(misp.requests[0]!.body) as { timestamp: string }).timestamp).toMatch(/^\d+$/);
  });
});
