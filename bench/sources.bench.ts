// Sources through the whole collect step (stream-parse + normalise + allowlists + store) against fakes on
// loopback. 1) Entries per second for the largest format, a STIX bundle of 100,000 indicators (the most
// bytes per entry, and streamed object by object). 2) Wall time of one collect over every fake source at
// once, as a cycle's collect stage runs them (without Temporal around it).
// Run: node --import tsx bench/sources.bench.ts [entries]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSchema, type SourceConfig } from '../src/config/index.js';
import { createHttpClient } from '../src/http/client.js';
import { loadAllowlists } from '../src/ioc/index.js';
import { collect } from '../src/pipeline/collect.js';
import { PROJECT_ROOT } from '../src/project-root.js';
import { createSource } from '../src/sources/index.js';
import { startThreatfoxFake } from '../test/fakes/abusech.js';
import { startFileFake } from '../test/fakes/files.js';
import { startMispFake, type FakeEvent } from '../test/fakes/misp.js';
import { startOtxFake } from '../test/fakes/otx.js';
import { startTaxiiFake } from '../test/fakes/taxii.js';
import { tempStore } from '../test/support/store.js';

const ENTRIES = Number(process.argv[2] ?? 100_000);
const http = createHttpClient({ timeoutMs: 60_000 });
const allowlists = await loadAllowlists({ builtin: true, lists: [], off: [] }, { baseDir: PROJECT_ROOT });
const fixture = (name: string) =>
  readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'sources', name), 'utf8');

function source(name: string, raw: Record<string, unknown>) {
  return createSource(name, configSchema.parse({ sources: { [name]: raw } }).sources[name] as SourceConfig);
}

async function run(name: string, raw: Record<string, unknown>, store = tempStore()) {
  return collect(source(name, raw), store.db, { cycleId: 'bench', now: Date.now, allowlists, http });
}

// 1. A 100,000-indicator STIX bundle.
const files = await startFileFake();
const objects = Array.from({ length: ENTRIES }, (_, i) => ({
  type: 'indicator',
  spec_version: '2.1',
  id: `indicator--00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  created: '2026-01-01T00:00:00.000Z',
  modified: '2026-01-01T00:00:00.000Z',
  indicator_types: ['malicious-activity'],
  pattern:
    i % 3 === 0
      ? `[ipv4-addr:value = '${45 + (i % 150)}.${(i >> 8) & 255}.${i & 255}.${1 + (i % 200)}']`
      : i % 3 === 1
        ? `[domain-name:value = 'host${i}.evil-${i % 997}.com']`
        : `[url:value = 'http://bad${i % 5000}.example.net/p/${i}']`,
  pattern_type: 'stix',
  valid_from: '2026-01-01T00:00:00.000Z',
  confidence: 80,
  labels: ['bench'],
}));
files.put(
  '/bundle.json',
  JSON.stringify({ type: 'bundle', id: 'bundle--bench', objects }),
  'application/json',
);
const bytes = files.files.get('/bundle.json')!.body.length;
const started = performance.now();
const stix = await run('stix-bench', { type: 'stix', url: `${files.url}/bundle.json` });
const seconds = (performance.now() - started) / 1000;
console.log(
  `stix bundle: ${stix.report.entries} entries (${(bytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(2)} s = ` +
    `${Math.round(stix.report.entries / seconds).toLocaleString('en')} entries/s through parse + normalise + store ` +
    `(${stix.report.newIocs} new IOCs)`,
);

// 2. One collect over every fake source at once.
const now = Math.floor(Date.now() / 1000);
const misp = await startMispFake({
  apiKey: 'k',
  // The MISP fixture's event, re-dated into the first pull's reach.
  events: (JSON.parse(fixture('misp-events.json')) as { response: { Event: FakeEvent }[] }).response.map(
    ({ Event: e }) => ({
      ...e,
      timestamp: now - 60,
      Attribute: e.Attribute.map((a) => ({ ...a, timestamp: now - 60 })),
      Object: [],
    }),
  ),
});
const otx = await startOtxFake({ apiKey: 'k', pulses: [] });
const fox = await startThreatfoxFake({ apiKey: 'k', iocs: [] });
const taxii = await startTaxiiFake({ auth: { token: 't' }, collections: { c: [] } });
for (const [path, file] of [
  ['/urlhaus.csv', 'urlhaus.csv'],
  ['/feodo.json', 'feodo.json'],
  ['/mb.csv', 'malwarebazaar.csv'],
  ['/sslbl.csv', 'sslbl.csv'],
  ['/plain.txt', 'plain.txt'],
  ['/generic.csv', 'generic.csv'],
  ['/small.json', 'stix-bundle.json'],
] as const) {
  files.put(path, fixture(file));
}
const store = tempStore();
const cycleStart = performance.now();
const reports = await Promise.all([
  run('misp', { type: 'misp', url: misp.url, apiKey: 'k' }, store),
  run('misp-feed', { type: 'misp-feed', url: `${misp.url}/feed` }, store),
  run('otx', { type: 'otx', url: otx.url, apiKey: 'k' }, store),
  run('threatfox', { type: 'threatfox', url: `${fox.url}/api/v1/`, apiKey: 'k' }, store),
  run('urlhaus', { type: 'urlhaus', url: `${files.url}/urlhaus.csv` }, store),
  run('feodo', { type: 'feodo', url: `${files.url}/feodo.json` }, store),
  run('malwarebazaar', { type: 'malwarebazaar', url: `${files.url}/mb.csv` }, store),
  run('sslbl', { type: 'sslbl', url: `${files.url}/sslbl.csv` }, store),
  run('plain', { type: 'plain', url: `${files.url}/plain.txt` }, store),
  run('csv', { type: 'csv', url: `${files.url}/generic.csv` }, store),
  run('stix', { type: 'stix', url: `${files.url}/small.json` }, store),
  run('taxii', { type: 'taxii', url: `${taxii.url}/api1/`, collection: 'c', token: 't' }, store),
]);
const cycleMs = performance.now() - cycleStart;
console.log(
  `collect over all ${reports.length} fake sources at once: ${cycleMs.toFixed(0)} ms ` +
    `(${reports.reduce((n, r) => n + r.report.entries, 0)} entries)`,
);

await Promise.all([files.close(), misp.close(), otx.close(), fox.close(), taxii.close()]);
