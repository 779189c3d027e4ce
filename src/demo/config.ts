// The demo's config.yaml: the bundled sample feeds plus a CSV partner export, every vendor and two HTTP
// sinks pointed at the simulated services, and a file sink. Written to a folder of its own so the demo
// never touches the state of `npm start` (data/).

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { PROJECT_ROOT } from '../project-root.js';
import {
  DEMO_HEC_INDEX,
  DEMO_KEYS,
  DEMO_TENANT,
  DEMO_WORKSPACE,
  SIMULATED_LIMIT,
  type SimulatedServices,
} from './simulated.js';

const SAMPLE_FEEDS = ['c2-blocklist.txt', 'community-watchlist.txt'];
const PARTNER_FEED = fileURLToPath(new URL('./feeds/partner-export.csv', import.meta.url));

export interface DemoTemporal {
  /** host:port; a local address where nothing answers gets a dev server. @default localhost:7233 */
  address?: string;
  /** Web UI port of a dev server the demo starts. @default 8233 */
  uiPort?: number;
  /** @default iocflow-demo */
  taskQueue?: string;
  /** @default iocflow-demo-cycle */
  scheduleId?: string;
}

/** Copies the feeds into `dir` and writes `dir/config.yaml`; returns its path. */
export function writeDemoConfig(
  dir: string,
  services: SimulatedServices,
  temporal: DemoTemporal = {},
): string {
  mkdirSync(join(dir, 'feeds'), { recursive: true });
  for (const file of SAMPLE_FEEDS) {
    copyFileSync(join(PROJECT_ROOT, 'examples', 'feeds', file), join(dir, 'feeds', file));
  }
  copyFileSync(PARTNER_FEED, join(dir, 'feeds', 'partner-export.csv'));
  const uiPort = temporal.uiPort ?? 8233;
  const rateLimit = { requests: SIMULATED_LIMIT * 0.8, per: '1s' };
  const config = {
    temporal: {
      address: temporal.address ?? 'localhost:7233',
      taskQueue: temporal.taskQueue ?? 'iocflow-demo',
      webUiUrl: `http://localhost:${uiPort}`,
      devServer: { dbPath: 'temporal.db', uiPort },
    },
    store: { path: 'iocflow.db' },
    schedule: { id: temporal.scheduleId ?? 'iocflow-demo-cycle', every: '4h' },
    sources: {
      'c2-blocklist': { type: 'plain', path: 'feeds/c2-blocklist.txt', reliability: 85, tags: ['c2'] },
      'community-watchlist': { type: 'plain', path: 'feeds/community-watchlist.txt', reliability: 40 },
      'partner-export': {
        type: 'csv',
        path: 'feeds/partner-export.csv',
        header: true,
        columns: { value: 'value', type: 'type', tags: 'tags', confidence: 'confidence' },
        tagSeparator: ';',
        reliability: 60,
      },
    },
    enrichers: {
      virustotal: {
        apiKey: DEMO_KEYS.virustotal,
        baseUrl: `${services.virustotal.url}/api/v3`,
        rateLimit,
      },
      shodan: { apiKey: DEMO_KEYS.shodan, baseUrl: services.shodan.url, rateLimit },
      abuseipdb: {
        apiKey: DEMO_KEYS.abuseipdb,
        baseUrl: `${services.abuseipdb.url}/api/v2`,
        rateLimit,
      },
    },
    sinks: {
      'high-confidence': { type: 'file', path: 'out/high-confidence.jsonl' },
      splunk: {
        type: 'splunk-hec',
        url: services.splunk.url,
        token: DEMO_KEYS.hecToken,
        index: DEMO_HEC_INDEX,
      },
      sentinel: {
        type: 'sentinel',
        tenantId: DEMO_TENANT,
        clientId: DEMO_KEYS.sentinelClient,
        clientSecret: DEMO_KEYS.sentinelSecret,
        workspaceId: DEMO_WORKSPACE,
        authorityHost: services.sentinel.url,
        apiBaseUrl: services.sentinel.url,
      },
    },
  };
  const path = join(dir, 'config.yaml');
  writeFileSync(
    path,
    '# Written by `npm run demo`: every vendor and HTTP sink here is a SIMULATED loopback fake with a fake key.\n' +
      stringify(config),
  );
  return path;
}

/** The sinks of the demo config that are simulated services (the file sink is a real file). */
export const SIMULATED_SINKS: Record<string, string> = {
  splunk: 'Splunk HEC',
  sentinel: 'Microsoft Sentinel',
};
