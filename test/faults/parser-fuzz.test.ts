import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { normaliseEntry } from '../../src/ioc/index.js';
import { SAVED_FORMATS, type SavedFormat } from '../../src/sources/index.js';

// A fixed fuzz budget for every file parser a source uses (the normaliser's own properties are in
// test/ioc/normalise-properties.test.ts): hostile bytes shaped like each format, read through
// `iocflow parse`'s path. No crash other than a message naming the file, no hang, and every accepted
// entry's canonical form normalises to itself.

const dir = mkdtempSync(join(tmpdir(), 'iocflow-fuzz-'));
const RUNS = 40;
const HANG_MS = 5_000;

const token = fc.constantFrom(
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"',
  '\n',
  '\r\n',
  '#',
  ';',
  ' ',
  '\\',
  '\u0000',
  '\ufffd',
  'null',
  'true',
  '"objects"',
  '"type"',
  '"indicator"',
  '"pattern"',
  "[ipv4-addr:value = '185.220.101.47']",
  '"response"',
  '"Attribute"',
  '"value"',
  '"ip-dst"',
  '"indicators"',
  '"IPv4"',
  '"ioc"',
  '"ioc_type"',
  '"data"',
  '185.220.101.47',
  'evil[.]example',
  'hxxp://x.example/a',
  '44d88612fea8a8f36de82e1278abb02f',
  '"',
  '<html>',
);
const body = fc.oneof(
  fc.array(token, { maxLength: 60 }).map((t) => Buffer.from(t.join(''), 'utf8')),
  fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s, 'utf8')),
);

const formats = (Object.keys(SAVED_FORMATS) as SavedFormat[]).filter((f) => f !== 'misp-feed');

describe.each(formats)('the %s parser under fuzz', (format) => {
  test('never crashes or hangs; accepted entries round-trip through the normaliser', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(body, async (bytes) => {
        const path = join(dir, `${format}-${n++}`);
        writeFileSync(path, bytes);
        const values: { value: string; typeHint?: string }[] = [];
        const read = (async () => {
          try {
            for await (const page of SAVED_FORMATS[format](path)) values.push(...page.entries);
          } catch (err) {
            // A whole-file failure is allowed, as a plain Error naming the file.
            expect(err).toBeInstanceOf(Error);
            expect((err as Error).constructor).toBe(Error);
            expect((err as Error).message).toContain(path);
          }
        })();
        let timer: NodeJS.Timeout | undefined;
        const hang = new Promise<'hang'>((r) => (timer = setTimeout(() => r('hang'), HANG_MS)));
        expect(await Promise.race([read.then(() => 'done'), hang])).toBe('done');
        clearTimeout(timer);
        for (const entry of values) {
          for (const outcome of normaliseEntry(entry.value, entry.typeHint)) {
            if (outcome.kind !== 'indicator') continue;
            const again = normaliseEntry(outcome.value, outcome.type);
            expect(again).toEqual([expect.objectContaining({ kind: 'indicator', key: outcome.key })]);
          }
        }
      }),
      { numRuns: RUNS, seed: 10 },
    );
  });
});
