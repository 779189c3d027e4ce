// The Web UI as an analyst uses it: find an IOC's workflow by its value, open it, and see the vendor
// lookups in its history. Drives Debian's chromium through playwright-core against a dev server started
// WITH its Web UI (the suite's shared server is headless), fed by a demo cycle against the vendor fakes.

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeDemoConfig } from '../../src/demo/config.js';
import { startSimulatedServices, type SimulatedServices } from '../../src/demo/simulated.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { loadAllowlists } from '../../src/ioc/index.js';
import { PROJECT_ROOT } from '../../src/project-root.js';
import type { CycleReport } from '../../src/shared/messages.js';
import { VENDOR_ACTIVITIES } from '../../src/shared/messages.js';
import { openStore, type Store } from '../../src/store/index.js';
import { startCycleNow } from '../../src/temporal/cycles.js';
import { ensureTemporal, type TemporalHandle } from '../../src/temporal/server.js';
import { startWorker, type RunningWorker } from '../../worker.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts', 'webui');
/** `IOCFLOW_UPDATE_SCREENSHOT=1` refreshes the README's screenshot from this run. */
const README_SCREENSHOT = join(PROJECT_ROOT, 'docs', 'images', 'webui-ioc.png');
/** An IP every vendor enriches: VirusTotal, Shodan and AbuseIPDB each get one activity in its history. */
const IOC = { type: 'ipv4', value: '185.220.101.47' };

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`test/webui skipped: ${CHROMIUM} is not installed (apt-get install chromium; .ci/run does)`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe.skipIf(!hasChromium)('the Web UI shows an IOC and its enrichment', () => {
  let dir: string;
  let services: SimulatedServices;
  let config: Config;
  let store: Store;
  let temporal: TemporalHandle;
  let worker: RunningWorker;
  let browser: BrowserContext;
  let page: Page;
  let report: CycleReport;
  let uiBase: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iocflow-webui-'));
    services = await startSimulatedServices();
    const [grpcPort, uiPort] = [await freePort(), await freePort()];
    const configPath = writeDemoConfig(dir, services, {
      address: `127.0.0.1:${grpcPort}`,
      uiPort,
      taskQueue: 'webui-test',
      scheduleId: 'webui-test-cycle',
    });
    // No TEMPORAL_ADDRESS: this test needs the dev server it starts itself, the one with a Web UI.
    ({ config } = loadConfig(configPath, {}));
    store = openStore(config.store.path);
    temporal = await ensureTemporal(config);
    expect(temporal.startedDevServer).toBe(true);
    worker = await startWorker({
      config,
      store,
      allowlists: await loadAllowlists(config.allowlists, { baseDir: dir }),
      address: temporal.address,
    });
    report = await (await startCycleNow(temporal.client, config)).result();
    uiBase = `http://127.0.0.1:${uiPort}/namespaces/${config.temporal.namespace}`;

    browser = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1440, height: 1000 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await temporal?.close();
    store?.close();
    await services?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the cycle enriched the IOC with all three simulated vendors', () => {
    expect(report.progress.failed).toBe(0);
    expect(report.progress.completed).toBeGreaterThan(0);
    const ipLookups = (requests: { path: string; query: URLSearchParams }[]) =>
      requests.filter((r) => r.path.includes(IOC.value) || r.query.get('ipAddress') === IOC.value).length;
    expect(ipLookups(services.virustotal.requests)).toBe(1);
    expect(ipLookups(services.shodan.requests)).toBe(1);
    expect(ipLookups(services.abuseipdb.requests)).toBe(1);
  });

  test('the workflows list filtered by IocValue shows the IOC workflow', async () => {
    const query = `IocValue = "${IOC.value}"`;
    await page.goto(`${uiBase}/workflows?query=${encodeURIComponent(query)}`);
    const workflowId = `ioc:${IOC.type}:${IOC.value}`;
    const row = page.getByRole('link', { name: workflowId });
    await row.first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'workflows-filtered.png'), fullPage: true });
    // The filter really filters: the cycle's 30-odd other IOC workflows are not listed.
    expect(report.progress.completed).toBeGreaterThan(1);
    expect(await page.getByRole('link', { name: /^ioc:/ }).count()).toBe(1);
  });

  test("the IOC's page shows its vendor lookups in the event history", async () => {
    await page
      .getByRole('link', { name: `ioc:${IOC.type}:${IOC.value}` })
      .first()
      .click();
    await page.waitForURL(/\/workflows\/ioc%3Aipv4%3A185\.220\.101\.47\//, { timeout: 30_000 });
    for (const activity of Object.values(VENDOR_ACTIVITIES)) {
      await page.getByText(activity).first().waitFor({ timeout: 30_000 });
    }
    const shot = join(ARTIFACTS, 'ioc-workflow.png');
    await page.screenshot({ path: shot, fullPage: false });
    if (process.env.IOCFLOW_UPDATE_SCREENSHOT === '1') {
      mkdirSync(dirname(README_SCREENSHOT), { recursive: true });
      copyFileSync(shot, README_SCREENSHOT);
    }
  });
});
