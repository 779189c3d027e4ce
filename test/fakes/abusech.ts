import { startFakeServer, sendJson, type FakeServer } from './server.js';
import { applyFaults, sendBody, type Faults } from './faults.js';
import { startFileFake, type FileFake } from './files.js';

// abuse.ch as vendor-apis.md §3 describes it. The bulk exports (URLhaus CSV, Feodo JSON, MalwareBazaar
// CSV, SSLBL CSV) are a `FileFake`: served without a key, with validators and 304. The ThreatFox API
// requires `Auth-Key` (401 `{"error": "Unauthorized"}` without), takes a JSON body `{query, days}` and
// answers `query_status` with HTTP 200 even for no_result.

export interface ThreatfoxFakeIoc {
  id: string;
  ioc: string;
  ioc_type: string;
  threat_type: string;
  malware_printable: string;
  confidence_level: number;
  first_seen: string;
  tags: string[] | null;
  reference?: string | null;
}

export interface ThreatfoxFake extends FakeServer {
  iocs: ThreatfoxFakeIoc[];
  faults: Faults;
  rawNext: string[];
}

export function startExportsFake(): Promise<FileFake> {
  return startFileFake();
}

export async function startThreatfoxFake(options: {
  apiKey: string;
  iocs: ThreatfoxFakeIoc[];
  now?: () => number;
}): Promise<ThreatfoxFake> {
  const faults: Faults = {};
  const rawNext: string[] = [];
  const now = options.now ?? Date.now;
  const server = await startFakeServer(async (req, res) => {
    if (await applyFaults(faults, res)) return;
    if (req.path !== '/api/v1/') return sendJson(res, 404, { error: 'Not Found' });
    if (req.headers['auth-key'] !== options.apiKey) return sendJson(res, 401, { error: 'Unauthorized' });
    let body: { query?: string; days?: number };
    try {
      body = JSON.parse(req.body) as typeof body;
    } catch {
      return sendJson(res, 200, { query_status: 'illegal_json' });
    }
    if (body.query !== 'get_iocs') return sendJson(res, 200, { query_status: 'unknown_query' });
    const days = Number(body.days ?? 3);
    if (!Number.isInteger(days) || days < 1 || days > 7)
      return sendJson(res, 200, { query_status: 'illegal_days' });
    const raw = rawNext.shift();
    if (raw !== undefined) return sendBody(res, faults, 200, raw, { 'content-type': 'application/json' });
    const cutoff = now() - days * 86_400_000;
    const data = options.iocs
      .filter((i) => Date.parse(i.first_seen.replace(' UTC', 'Z').replace(' ', 'T')) >= cutoff)
      .map((i) => ({
        threat_type_desc: 'Indicator that identifies a botnet command&control server (C&C)',
        ioc_type_desc: '',
        malware: 'win.unknown',
        malware_alias: null,
        malware_malpedia: null,
        is_compromised: false,
        last_seen: null,
        reference: null,
        reporter: 'abuse_ch',
        ...i,
      }));
    if (data.length === 0)
      return sendJson(res, 200, { query_status: 'no_result', data: 'Your search did not yield any results' });
    sendBody(res, faults, 200, JSON.stringify({ query_status: 'ok', data }), {
      'content-type': 'application/json',
    });
  });
  return { ...server, iocs: options.iocs, faults, rawNext };
}
