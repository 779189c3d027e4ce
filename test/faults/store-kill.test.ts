import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../src/project-root.js';

const BATCH = 20_000;
const KILLS = 3;

/** Starts the bulk writer and resolves with it once `committed` batches are reported. */
function startWriter(db: string, first: number) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(PROJECT_ROOT, 'test/faults/support/bulk-writer.ts'),
      db,
      String(BATCH),
      String(first),
    ],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const committed: number[] = [];
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    for (const m of text.matchAll(/committed (\d+)/g)) committed.push(Number(m[1]));
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_c, s) => resolve(s)));
  return { child, committed, exited, stderr: () => stderr };
}

describe('the store after a SIGKILL mid-write', () => {
  test('integrity_check is ok and every batch is all there or not at all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iocflow-kill-'));
    const path = join(dir, 'iocflow.db');
    let next = 0;
    let killedMidBatch = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      // Each run writes batches no earlier run touched, so the one in flight at the kill is new rows only.
      const writer = startWriter(path, next);
      // Let a few batches commit, then kill at a random moment inside a later one.
      const target = 2;
      const deadline = Date.now() + 60_000;
      while (writer.committed.length < target && Date.now() < deadline) {
        if (writer.child.exitCode !== null) throw new Error(`writer died: ${writer.stderr()}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 150)));
      writer.child.kill('SIGKILL');
      expect(await writer.exited).toBe('SIGKILL');

      const db = new Database(path);
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        const rows = db
          .prepare('select cycle_id as batch, count(*) as n from sightings group by cycle_id')
          .all() as { batch: string; n: number }[];
        const batches = Object.fromEntries(rows.map((r) => [r.batch, r.n]));
        // Never half a batch: each transaction is all its rows or none.
        for (const n of Object.values(batches)) expect(n).toBe(BATCH);
        // Every batch reported committed is there (a killed process loses only the open transaction).
        for (const n of writer.committed) expect(batches[`batch-${n}`]).toBe(BATCH);
        const iocs = db.prepare('select count(*) as n from iocs').get() as { n: number };
        expect(iocs.n).toBe(Object.keys(batches).length * BATCH);
        const inFlight = next + writer.committed.length;
        if (batches[`batch-${inFlight}`] === undefined) killedMidBatch++;
        next = inFlight + 1;
      } finally {
        db.close();
      }
    }
    // The kills landed inside a transaction (its batch is absent), not only between batches.
    expect(killedMidBatch).toBeGreaterThan(0);
  });
});
