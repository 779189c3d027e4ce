// Writes docs/configuration.md and the README's configuration block from the config schema.
//
//   npm run docs:config
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { PROJECT_ROOT } from '../src/project-root.js';
import { CONFIG_DOC_PATH, README_PATH, renderConfigDoc, renderReadme } from './config-reference.js';

for (const [path, text] of [
  [CONFIG_DOC_PATH, await renderConfigDoc()],
  [README_PATH, await renderReadme()],
] as const) {
  writeFileSync(path, text);
  process.stdout.write(`wrote ${relative(PROJECT_ROOT, path)}\n`);
}
