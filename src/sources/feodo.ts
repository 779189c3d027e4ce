import { z } from 'zod';
import type { SourceConfigOf } from '../config/index.js';
import { abusechExportSource } from './abusech.js';
import { savedDocument, type DocumentPages } from './document.js';
import { pagesOfLines } from './delimited.js';
import { hasBadUtf8, numberedJson } from './json-stream.js';
import { describeZodError } from './pages.js';
import type { Source } from './types.js';

/**
 * Feodo Tracker's botnet C2 blocklist, the JSON export (`ipblocklist.json`): an array of
 * `{ip_address, port, status, hostname, as_number, as_name, country, first_seen, last_online, malware}`.
 * The list may stay frozen for months; its validators make each unchanged pull one 304.
 */
export function feodoSource(name: string, config: SourceConfigOf<'feodo'>): Source {
  return abusechExportSource(name, config, 'Feodo Tracker', feodoPages);
}

const feodoEntry = z.object({
  ip_address: z.string().min(1),
  port: z.number().int().nullish(),
  status: z.string().nullish(),
  malware: z.string().nullish(),
});

export const feodoPages: DocumentPages = (settings, body, skipThrough, onTruncated) =>
  pagesOfLines(
    settings,
    numberedJson(settings.name, body, ['$.*']),
    skipThrough,
    (item, position, page) => {
      const parsed = feodoEntry.safeParse(item.value);
      if (!parsed.success) {
        page.error(position, describeZodError(parsed.error));
        return;
      }
      const e = parsed.data;
      if (hasBadUtf8(e.ip_address)) {
        page.error(position, 'ip_address is not valid UTF-8');
        return;
      }
      const tags = [
        'c2',
        ...(e.malware ? [e.malware] : []),
        ...(e.status === 'offline' ? ['feodo:offline'] : []),
      ];
      page.entry({ value: e.ip_address, typeHint: 'ip', position, tags, ref: `feodo:${e.ip_address}` });
    },
    onTruncated,
    'item',
  );

export const readFeodoFile = savedDocument('Feodo Tracker', feodoPages);
