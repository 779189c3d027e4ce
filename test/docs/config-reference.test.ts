import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  CONFIG_DOC_PATH,
  README_END,
  README_PATH,
  README_START,
  renderConfigDoc,
  renderReadme,
} from '../../scripts/config-reference.js';
import { configSchema } from '../../src/config/schema.js';

const STALE = 'is stale: run `npm run docs:config` and commit the result';

describe('the configuration reference', () => {
  test('docs/configuration.md matches the schema', async () => {
    const committed = readFileSync(CONFIG_DOC_PATH, 'utf8');
    const fresh = await renderConfigDoc();
    expect(committed === fresh, `docs/configuration.md ${STALE}`).toBe(true);
  });

  test("README.md's generated block matches the schema", async () => {
    const committed = readFileSync(README_PATH, 'utf8');
    expect(committed, `README.md needs the markers ${README_START} and ${README_END}`).toContain(
      README_START,
    );
    const fresh = await renderReadme(committed);
    expect(committed === fresh, `the README's config-reference block ${STALE}`).toBe(true);
  });

  test('documents every top-level section and every source and sink type', async () => {
    const doc = await renderConfigDoc();
    for (const section of Object.keys(configSchema.shape)) expect(doc).toContain(`\n## ${section}\n`);
    for (const type of ['plain', 'csv', 'misp', 'misp-feed', 'otx', 'urlhaus', 'threatfox', 'feodo']) {
      expect(doc).toContain(`\n### ${type}\n`);
    }
    for (const type of ['file', 'splunk-hec', 'sentinel', 'crowdstrike', 'misp-feedback']) {
      expect(doc).toContain(`\n### ${type}\n`);
    }
    // A required credential and a default from deep inside the schema both make it into the tables.
    expect(doc).toMatch(/\| `apiKey` +\| string +\| \*\*required\*\*/);
    expect(doc).toMatch(/\| `ack\.timeoutMs` +\| integer 100–600000 +\| `120000`/);
  });

  test('a stale copy is detected', async () => {
    const committed = readFileSync(README_PATH, 'utf8');
    const tampered = committed.replace(/(\[`store`\][^|]*\| )[^|\n]*/, '$1an old description ');
    expect(tampered).not.toBe(committed);
    expect(await renderReadme(tampered)).not.toBe(tampered);
  });
});
