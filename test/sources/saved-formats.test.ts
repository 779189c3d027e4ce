import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseLines } from '../../src/cli/inspect.js';
import { loadAllowlists } from '../../src/ioc/index.js';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { SAVED_FORMATS, type SavedFormat } from '../../src/sources/index.js';

// Each fixture is a real-shaped response written from vendor-apis.md; beside it, what the source must make
// of it (`iocflow parse` output, relative paths, the special-use-domain allowlist off), checked by hand.
const DIR = join(PROJECT_ROOT, 'test', 'fixtures', 'sources');
const CASES: [SavedFormat, string][] = [
  ['misp', 'misp-attributes.json'],
  ['misp', 'misp-events.json'],
  ['misp-feed', 'misp-feed'],
  ['otx', 'otx-pulses.json'],
  ['urlhaus', 'urlhaus.csv'],
  ['threatfox', 'threatfox.json'],
  ['feodo', 'feodo.json'],
  ['malwarebazaar', 'malwarebazaar.csv'],
  ['sslbl', 'sslbl.csv'],
  ['stix', 'stix-bundle.json'],
  ['plain', 'plain.txt'],
  ['csv', 'generic.csv'],
];

describe('saved responses parse to the expected output', async () => {
  const allowlists = await loadAllowlists(
    { builtin: true, lists: [], off: ['builtin-special-domains'] },
    { baseDir: DIR },
  );
  test.each(CASES)('%s: %s', async (format, file) => {
    const cwd = process.cwd();
    process.chdir(DIR);
    try {
      const lines = [];
      for await (const line of parseLines(SAVED_FORMATS[format](file), allowlists)) lines.push(line);
      const expected = readFileSync(join(DIR, `${file.replace(/\.[a-z]+$/, '')}.expected.jsonl`), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);
      expect(lines).toEqual(expected);
    } finally {
      process.chdir(cwd);
    }
  });
});
