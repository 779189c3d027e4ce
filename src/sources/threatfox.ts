import { z } from 'zod';
import type { SourceConfigOf } from '../config/index.js';
import { authKeyHeaders } from './abusech.js';
import { lineCursor, pagesOfLines } from './delimited.js';
import { openFile } from './document.js';
import { openResponse } from './http.js';
import { hasBadUtf8, numberedJson } from './json-stream.js';
import { describeZodError, laterOf, type PageBuilder } from './pages.js';
import { parseSeenTime } from './seen-time.js';
import { savedFileSettings, settingsOf, type SourceSettings } from './settings.js';
import type { Source, SourceContext, SourcePage, SourcePull } from './types.js';

type ThreatfoxConfig = SourceConfigOf<'threatfox'>;

const DAY_MS = 86_400_000;
/** The API's `get_iocs` reaches back 1 to 7 days. */
const MAX_DAYS = 7;

/**
 * ThreatFox through its API (`POST {query: get_iocs, days}` with `Auth-Key`): unlike the exports it is
 * incremental. The watermark is the newest `first_seen` taken; the next pull asks for the whole days
 * since then (at least 1, at most 7); the overlap is harmless, sightings are idempotent.
 */
export function threatfoxSource(name: string, config: ThreatfoxConfig): Source {
  const settings = settingsOf(name, 'ThreatFox', config, 'apiKey');
  return {
    name,
    config,
    pull(context: SourceContext): SourcePull {
      const state = { newest: context.memory.watermark, truncated: false };
      return {
        pages: (async function* () {
          const opened = await openResponse(context, settings, {
            url: config.url,
            method: 'POST',
            headers: { ...authKeyHeaders(config.apiKey), accept: 'application/json' },
            json: { query: 'get_iocs', days: daysSince(context.memory.watermark) },
          });
          if (opened.status === 'unchanged') return;
          yield* threatfoxPages(
            settings,
            opened.body,
            lineCursor(context.resumeFrom),
            config.minConfidence,
            state,
          );
        })(),
        // A body that broke off may have hidden newer IOCs: keep the old watermark, the next pull overlaps.
        memory: () => (state.truncated ? context.memory : { ...context.memory, watermark: state.newest }),
      };
    },
  };
}

export function daysSince(watermark: string | undefined, now = Date.now()): number {
  const at = watermark ? Date.parse(watermark) : NaN;
  if (Number.isNaN(at)) return MAX_DAYS;
  return Math.min(MAX_DAYS, Math.max(1, Math.ceil((now - at) / DAY_MS)));
}

const ioc = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  ioc: z.string().min(1),
  ioc_type: z.string().min(1),
  threat_type: z.string().nullish(),
  malware: z.string().nullish(),
  malware_printable: z.string().nullish(),
  confidence_level: z.number().int().min(0).max(100).nullish(),
  first_seen: z.string().nullish(),
  tags: z.array(z.string()).nullish(),
});

/** ThreatFox's `2023-12-04 16:00:16 UTC` as ISO-8601 (or undefined). */
function firstSeenIso(text: string | null | undefined): string | undefined {
  if (!text) return undefined;
  const at = parseSeenTime(text);
  return at === undefined ? undefined : new Date(at).toISOString();
}

/** `{"query_status": "ok", "data": [...]}`; `no_result` is an empty answer, any other status a failure. */
function threatfoxPages(
  settings: SourceSettings,
  body: AsyncIterable<Buffer>,
  skipThrough: number,
  minConfidence: number,
  state: { newest: string | undefined; truncated: boolean },
): AsyncGenerator<SourcePage> {
  let status: string | undefined;
  async function* items() {
    for await (const item of numberedJson(settings.name, body, ['$.query_status', '$.data.*'])) {
      if ('value' in item && item.key === 'query_status') {
        status = typeof item.value === 'string' ? item.value : String(item.value);
        if (status !== 'ok' && status !== 'no_result') {
          throw new Error(
            `source ${settings.name}: ThreatFox answered query_status ${JSON.stringify(status.slice(0, 60))}`,
          );
        }
        continue;
      }
      yield item;
    }
    if (status === undefined) throw new Error(`source ${settings.name}: the response has no query_status`);
  }
  return pagesOfLines(
    settings,
    items(),
    skipThrough,
    (item, position, page: PageBuilder) => {
      const parsed = ioc.safeParse(item.value);
      if (!parsed.success) {
        page.error(position, describeZodError(parsed.error));
        return;
      }
      const e = parsed.data;
      if (hasBadUtf8(e.ioc)) {
        page.error(position, 'ioc is not valid UTF-8');
        return;
      }
      state.newest = laterOf(state.newest, firstSeenIso(e.first_seen), Date.parse);
      if ((e.confidence_level ?? 100) < minConfidence) {
        page.skip('low_confidence');
        return;
      }
      const tags = [
        ...(e.threat_type ? [e.threat_type] : []),
        ...(e.malware_printable ? [e.malware_printable] : []),
        ...(e.tags ?? []),
      ];
      page.entry({
        value: e.ioc,
        typeHint: e.ioc_type,
        position,
        tags,
        ref: `threatfox:${e.id}`,
        ...(e.confidence_level != null ? { confidence: e.confidence_level } : {}),
      });
    },
    () => (state.truncated = true),
    'item',
  );
}

/** `iocflow parse --format threatfox PATH`: a saved `get_iocs` answer. */
export async function* readThreatfoxFile(path: string): AsyncGenerator<SourcePage> {
  const settings = savedFileSettings(path, 'ThreatFox');
  yield* threatfoxPages(settings, await openFile(settings, path), 0, 0, {
    newest: undefined,
    truncated: false,
  });
}
