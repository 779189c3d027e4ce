import { startFakeServer, sendJson, type FakeServer } from './server.js';
import { applyFaults, type Faults } from './faults.js';

// AlienVault OTX as vendor-apis.md §2 describes it: `X-OTX-API-KEY` (403 otherwise), pulses modified after
// `modified_since` (with Z, an offset or naive), `limit`/`page` with absolute `next` URLs back to the fake,
// `null` on the last page, an empty page beyond the end; zone-less timestamps.

export interface FakePulse {
  id: string;
  name: string;
  modified: string;
  tlp?: string;
  adversary?: string;
  tags?: string[];
  malware_families?: string[];
  references?: string[];
  indicators: {
    id: number;
    indicator: string;
    type: string;
    is_active?: number;
    expiration?: string | null;
    description?: string;
  }[];
}

export interface OtxFake extends FakeServer {
  pulses: FakePulse[];
  faults: Faults;
}

const parseTime = (t: string) => Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`);

export async function startOtxFake(options: { apiKey: string; pulses: FakePulse[] }): Promise<OtxFake> {
  const faults: Faults = {};
  const pulses = options.pulses;
  const server = await startFakeServer(async (req, res) => {
    if (await applyFaults(faults, res, () => JSON.stringify({ detail: 'error' }))) return;
    if (req.path !== '/api/v1/pulses/subscribed') return sendJson(res, 404, { detail: 'Not found.' });
    if (req.headers['x-otx-api-key'] !== options.apiKey) {
      return sendJson(res, 403, { detail: 'Authentication credentials were not provided.' });
    }
    const limit = Number(req.query.get('limit') ?? 50);
    const page = Number(req.query.get('page') ?? 1);
    const since = req.query.get('modified_since');
    const matching = pulses
      .filter((p) => !since || parseTime(p.modified) > parseTime(since))
      .sort((a, b) => parseTime(a.modified) - parseTime(b.modified));
    const results = matching.slice((page - 1) * limit, page * limit).map((p) => ({
      description: '',
      author_name: 'SampleUser',
      created: p.modified,
      revision: 1,
      public: 1,
      targeted_countries: [],
      attack_ids: [],
      industries: [],
      extract_source: [],
      more_indicators: false,
      tlp: 'white',
      adversary: '',
      tags: [],
      malware_families: [],
      references: [],
      ...p,
      indicators: p.indicators.map((i) => ({
        created: '2026-01-01T00:00:00',
        content: '',
        title: '',
        description: '',
        expiration: null,
        is_active: 1,
        role: i.id % 2 ? null : '',
        ...i,
      })),
    }));
    const next = new URL(`${server.url}/api/v1/pulses/subscribed`);
    next.searchParams.set('limit', String(limit));
    if (since) next.searchParams.set('modified_since', since);
    next.searchParams.set('page', String(page + 1));
    sendJson(res, 200, {
      results,
      count: matching.length,
      prefetch_pulse_ids: false,
      t: 0,
      t2: 0.005,
      t3: 2.79,
      previous: null,
      next: page * limit < matching.length ? next.toString() : null,
    });
  });
  return { ...server, pulses, faults };
}
