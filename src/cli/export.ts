import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { stixIndicator } from '../sinks/stix-indicator.js';
import type { ExportedIoc } from '../store/index.js';

// `iocflow export`: the high-confidence set as JSONL, CSV or a STIX 2.1 bundle, written one IOC at a time
// with back-pressure, so a set of any size never sits in memory as one string.

export const EXPORT_FORMATS = ['jsonl', 'csv', 'stix'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const iso = (ms: number) => new Date(ms).toISOString();

/** One IOC as a flat record, snake_case like the file sink's lines; `valid_until` only when known. */
export function exportRecord(ioc: ExportedIoc) {
  return {
    type: ioc.type,
    value: ioc.value,
    score: ioc.score,
    severity: ioc.severity,
    confidence: ioc.confidence,
    sources: ioc.sources,
    tags: ioc.tags,
    first_seen: iso(ioc.firstSeen),
    last_seen: iso(ioc.lastSeen),
    ...(ioc.expiresAt !== null ? { valid_until: iso(ioc.expiresAt) } : {}),
  };
}

export const CSV_COLUMNS = [
  'type',
  'value',
  'score',
  'severity',
  'confidence',
  'sources',
  'tags',
  'first_seen',
  'last_seen',
  'valid_until',
] as const;

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Lists (sources, tags) in one cell, `;`-separated. */
function csvRow(ioc: ExportedIoc): string {
  const r = exportRecord(ioc);
  const cells: Record<(typeof CSV_COLUMNS)[number], string> = {
    ...r,
    score: String(r.score),
    confidence: String(r.confidence),
    sources: r.sources.join(';'),
    tags: r.tags.join(';'),
    valid_until: r.valid_until ?? '',
  };
  return CSV_COLUMNS.map((c) => csvField(cells[c])).join(',') + '\r\n';
}

async function put(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

/** Writes the set in the format; resolves with the number of IOCs written. */
export async function writeExport(
  iocs: Iterable<ExportedIoc>,
  format: ExportFormat,
  out: Writable,
): Promise<number> {
  let count = 0;
  if (format === 'csv') await put(out, CSV_COLUMNS.join(',') + '\r\n');
  if (format === 'stix') await put(out, `{"type":"bundle","id":"bundle--${randomUUID()}","objects":[`);
  for (const ioc of iocs) {
    if (format === 'jsonl') await put(out, JSON.stringify(exportRecord(ioc)) + '\n');
    else if (format === 'csv') await put(out, csvRow(ioc));
    else {
      const indicator = stixIndicator({ ...ioc, action: 'upsert' }, {});
      await put(out, `${count === 0 ? '' : ','}\n${JSON.stringify(indicator)}`);
    }
    count++;
  }
  if (format === 'stix') await put(out, '\n]}\n');
  return count;
}

/**
 * Exports into a file: written beside it and renamed into place once complete, so a reader (or a SIEM
 * watching the file) never sees half an export, and a failed export leaves the previous one intact.
 */
export async function exportToFile(path: string, write: (out: Writable) => Promise<number>): Promise<number> {
  const partial = `${path}.partial`;
  const out = createWriteStream(partial, { encoding: 'utf8' });
  try {
    const count = await write(out);
    out.end();
    await once(out, 'finish');
    await rename(partial, path);
    return count;
  } catch (err) {
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  }
}
