import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding iocflow's package.json, whether this code runs from src/ (tsx) or dist/ (compiled):
 * migrations, examples and installed tools are found from here.
 */
export const PROJECT_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'drizzle'))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('cannot find the iocflow project root (package.json beside drizzle/)');
    dir = parent;
  }
  return dir;
})();
