import { open } from 'node:fs/promises';
import { z } from 'zod';
import type { SourceConfigOf } from '../config/index.js';
import { openFile } from './document.js';
import { openResponse } from './http.js';
import { hasBadUtf8, numberedJson } from './json-stream.js';
import { describeZodError, laterOf, PageBuilder, readCursor, writeCursor } from './pages.js';
import { durationMs } from '../config/primitives.js';
import { savedFileSettings, settingsOf, type SourceSettings } from './settings.js';
import type { Source, SourceContext, SourcePage, SourcePull } from './types.js';

type MispConfig = SourceConfigOf<'misp'>;

/**
 * MISP's REST search (`POST /attributes/restSearch` or `/events/restSearch`), paged with `limit`/`page`
 * until a short page, incremental on one of MISP's time filters:
 * - by default `timestamp` (last modification) = the newest attribute timestamp of the last complete pull;
 * - with `publishedOnly`, `publish_timestamp` = the newest event publish time of the last complete pull
 *   (an event's, or in the attributes scope the `publish_timestamp` of each attribute's `Event`). Publishing
 *   leaves attribute timestamps alone, so a draft published after the `timestamp` watermark passed its
 *   attributes would never come under `timestamp`.
 * Both filters include their second, so the boundary records come again: harmless, sightings are
 * idempotent, and nothing changed within the same second is lost. The two times do not compare, so the
 * stored watermark says which it is (see `readWatermark`) and a toggled `publishedOnly` starts again from
 * the first-pull reach `since`. The cursor is the next page, the newest time so far and the filter (name
 * and value) the pull started with.
 */
export function mispSource(name: string, config: MispConfig): Source {
  const settings = settingsOf(name, 'MISP', config, 'apiKey');
  const base = config.url.replace(/\/+$/, '');
  const filter: MispFilter = config.publishedOnly ? 'publish_timestamp' : 'timestamp';
  return {
    name,
    config,
    pull(context: SourceContext): SourcePull {
      const cursor = readCursor(mispCursor, context.resumeFrom);
      const resumed = cursor?.filter === filter ? cursor : undefined;
      const watermark = readWatermark(context.memory.watermark, filter);
      const state = { newest: resumed?.newest ?? watermark, truncated: false };
      return {
        pages: (async function* () {
          // A resumed pull asks the same question: a relative first-pull reach recomputed later could shift
          // the page boundaries under the page number it resumes at.
          const since =
            resumed?.since ?? watermark ?? String(Math.floor((Date.now() - durationMs(config.since)) / 1000));
          for (let page = resumed?.page ?? 1; ; page++) {
            const opened = await openResponse(context, settings, {
              url: `${base}/${config.scope}/restSearch`,
              method: 'POST',
              headers: { authorization: config.apiKey, accept: 'application/json' },
              json: {
                returnFormat: 'json',
                limit: settings.pageSize,
                page,
                [filter]: since,
                ...(config.toIdsOnly ? { to_ids: 1 } : {}),
                ...(config.publishedOnly ? { published: true } : {}),
                ...(config.filterTags ? { tags: config.filterTags } : {}),
                ...(config.scope === 'attributes' ? { includeEventTags: true, includeEventUuid: true } : {}),
              },
            });
            if (opened.status === 'unchanged') return;
            const { page: built, records } = await readSearchPage(settings, opened.body, config.scope, page, {
              toIdsOnly: config.toIdsOnly,
              watermark: filter,
              state,
            });
            yield built.take(writeCursor({ page: page + 1, newest: state.newest, since, filter }));
            if (records < settings.pageSize) return;
          }
        })(),
        // A page that broke off may have hidden older attributes: keep the watermark, the next pull overlaps.
        memory: () =>
          state.truncated
            ? context.memory
            : { ...context.memory, watermark: storedWatermark(state.newest, filter) },
      };
    },
  };
}

/** The restSearch time filter a pull is incremental on; the watermark is a value of it. */
type MispFilter = 'timestamp' | 'publish_timestamp';

const PUBLISHED_WATERMARK = /^publish_timestamp:(\d+)$/;

/**
 * The stored watermark's time for `filter`, or undefined when it holds the other filter's time. A
 * `timestamp` watermark is plain epoch seconds (as it always was); a `publish_timestamp` one is prefixed.
 */
function readWatermark(stored: string | undefined, filter: MispFilter): string | undefined {
  if (stored === undefined) return undefined;
  if (filter === 'timestamp') return /^\d+$/.test(stored) ? stored : undefined;
  return PUBLISHED_WATERMARK.exec(stored)?.[1];
}

function storedWatermark(newest: string | undefined, filter: MispFilter): string | undefined {
  if (newest === undefined || filter === 'timestamp') return newest;
  return `publish_timestamp:${newest}`;
}

const mispCursor = z.object({
  page: z.number().int().min(1),
  newest: z.string().optional(),
  since: z.string().optional(),
  // Cursors written before the publishedOnly filter existed were all `timestamp` ones.
  filter: z.enum(['timestamp', 'publish_timestamp']).default('timestamp'),
});

export interface MispReadOptions {
  toIdsOnly: boolean;
  /**
   * Which time `state.newest` tracks: attribute `timestamp`s, or the `publish_timestamp` of their events.
   * @default 'timestamp'
   */
  watermark?: MispFilter;
  /** The newest time seen (epoch seconds as a string), moved forward as records pass. */
  state: { newest: string | undefined; truncated: boolean };
}

/** One restSearch answer: `{"response": {"Attribute": [...]}}` or `{"response": [{"Event": {...}}]}`. */
async function readSearchPage(
  settings: SourceSettings,
  body: AsyncIterable<Buffer>,
  scope: MispConfig['scope'],
  pageNo: number,
  options: MispReadOptions,
): Promise<{ page: PageBuilder; records: number }> {
  // One API page is one stored page whatever its size: the cursor is the API's page number.
  const page = new PageBuilder(Number.MAX_SAFE_INTEGER);
  let records = 0;
  const path = scope === 'attributes' ? '$.response.Attribute.*' : '$.response.*';
  for await (const item of numberedJson(settings.name, body, [path])) {
    const position = `${settings.name} page ${pageNo}, ${scope === 'attributes' ? 'attribute' : 'event'} ${item.no}`;
    if ('problem' in item) {
      if (item.truncated) options.state.truncated = true;
      page.error(position, item.problem);
      continue;
    }
    records++;
    if (scope === 'attributes') {
      addAttribute(page, item.value, position, undefined, options);
    } else {
      const wrapped = z.object({ Event: z.unknown() }).safeParse(item.value);
      if (!wrapped.success) page.error(position, 'not an {"Event": …} record');
      else addEvent(page, wrapped.data.Event, position, options);
    }
  }
  return { page, records };
}

const flag = z
  .union([z.boolean(), z.literal('0'), z.literal('1'), z.literal(0), z.literal(1)])
  .transform((v) => v === true || v === '1' || v === 1);
const timestamp = z.union([z.string().regex(/^\d+$/), z.number().int()]).transform(String);
const tagList = z.array(z.object({ name: z.string() })).nullish();

const mispAttribute = z.object({
  type: z.string().min(1),
  value: z.string(),
  to_ids: flag.optional(),
  deleted: flag.optional(),
  timestamp: timestamp.optional(),
  event_id: z.string().optional(),
  Event: z
    .object({
      id: z.string().optional(),
      uuid: z.string().optional(),
      publish_timestamp: timestamp.optional(),
    })
    .optional(),
  Tag: tagList,
});

const mispEvent = z.object({
  id: z.string().optional(),
  uuid: z.string().optional(),
  publish_timestamp: timestamp.optional(),
  Tag: tagList,
  Galaxy: z
    .array(z.object({ GalaxyCluster: z.array(z.object({ tag_name: z.string().optional() })).optional() }))
    .nullish(),
  Attribute: z.array(z.unknown()).nullish(),
  Object: z
    .array(z.object({ name: z.string().optional(), Attribute: z.array(z.unknown()).nullish() }))
    .nullish(),
});

/**
 * Every attribute of an event (its own and its objects'), with the event's tags and galaxies. False when
 * the record is no MISP event at all (reported on the page); bad attributes of a good event are not.
 */
export function addEvent(
  page: PageBuilder,
  raw: unknown,
  position: string,
  options: MispReadOptions,
): boolean {
  const parsed = mispEvent.safeParse(raw);
  if (!parsed.success) {
    page.error(position, `not a MISP event: ${describeZodError(parsed.error)}`);
    return false;
  }
  const event = parsed.data;
  if (options.watermark === 'publish_timestamp')
    options.state.newest = laterOf(options.state.newest, event.publish_timestamp, Number);
  const eventTags = [
    ...(event.Tag ?? []).map((t) => t.name),
    ...(event.Galaxy ?? []).flatMap((g) =>
      (g.GalaxyCluster ?? []).flatMap((c) => (c.tag_name ? [c.tag_name] : [])),
    ),
  ];
  const from = { tags: eventTags, ref: event.uuid ?? event.id };
  (event.Attribute ?? []).forEach((a, i) =>
    addAttribute(page, a, `${position} attribute ${i + 1}`, from, options),
  );
  (event.Object ?? []).forEach((o, j) =>
    (o.Attribute ?? []).forEach((a, i) =>
      addAttribute(page, a, `${position} object ${j + 1} attribute ${i + 1}`, from, options),
    ),
  );
  return true;
}

/**
 * One attribute: of the event `from` (events scope), or of the `Event` it carries (attributes scope, where
 * `from` is undefined).
 */
function addAttribute(
  page: PageBuilder,
  raw: unknown,
  position: string,
  from: { tags: string[]; ref: string | undefined } | undefined,
  options: MispReadOptions,
): void {
  const parsed = mispAttribute.safeParse(raw);
  if (!parsed.success) {
    page.error(position, `not a MISP attribute: ${describeZodError(parsed.error)}`);
    return;
  }
  const a = parsed.data;
  if ((options.watermark ?? 'timestamp') === 'timestamp')
    options.state.newest = laterOf(options.state.newest, a.timestamp, Number);
  else if (!from) options.state.newest = laterOf(options.state.newest, a.Event?.publish_timestamp, Number);
  const eventTags = from?.tags ?? [];
  if (a.deleted) return page.skip('deleted');
  if (options.toIdsOnly && a.to_ids === false) return page.skip('not_to_ids');
  if (hasBadUtf8(a.value)) return page.error(position, 'value is not valid UTF-8');
  const tags = [...new Set([...eventTags, ...(a.Tag ?? []).map((t) => t.name)])];
  const confidence = confidenceOfTags((a.Tag ?? []).map((t) => t.name)) ?? confidenceOfTags(eventTags);
  const ref = from?.ref ?? a.Event?.uuid ?? a.Event?.id ?? a.event_id;
  page.entry({
    value: a.value,
    typeHint: a.type,
    position,
    ...(tags.length > 0 ? { tags } : {}),
    ...(ref ? { ref } : {}),
    ...(confidence !== undefined ? { confidence } : {}),
  });
}

/**
 * Confidence (0–100) from MISP taxonomy tags. Where an attribute or event carries several, the lowest wins:
 * a doubt stated anywhere is kept. Tags that say "cannot be judged" give none.
 */
const CONFIDENCE_TAGS: Record<string, Record<string, number>> = {
  // NATO admiralty scale, credibility of the information: 1 confirmed … 5 improbable (6: cannot be judged).
  'admiralty-scale:information-credibility': { '1': 95, '2': 80, '3': 60, '4': 35, '5': 10 },
  'estimative-language:confidence-in-analytic-judgment': { high: 85, moderate: 60, low: 30 },
  'estimative-language:likelihood-probability': {
    'almost-no-chance': 3,
    'very-unlikely': 10,
    unlikely: 30,
    'roughly-even-chance': 50,
    likely: 70,
    'very-likely': 87,
    'almost-certain': 97,
  },
  'misp:confidence-level': {
    'completely-confident': 100,
    'usually-confident': 75,
    'fairly-confident': 50,
    'rarely-confident': 25,
    unconfident: 0,
  },
};

export function confidenceOfTags(tags: string[]): number | undefined {
  let found: number | undefined;
  for (const tag of tags) {
    const m = /^([^=]+)="?([^"]*)"?$/.exec(tag.trim());
    if (!m) continue;
    const [, predicate, value] = m as unknown as [string, string, string];
    let c: number | undefined;
    if (predicate === 'osint:certainty') {
      const n = Number(value);
      c = Number.isFinite(n) && n >= 0 && n <= 100 ? Math.round(n) : undefined;
    } else {
      c = CONFIDENCE_TAGS[predicate]?.[value];
    }
    if (c !== undefined) found = found === undefined ? c : Math.min(found, c);
  }
  return found;
}

/** `iocflow parse --format misp PATH`: a saved restSearch answer, attributes or events. */
export async function* readMispFile(path: string): AsyncGenerator<SourcePage> {
  const settings = savedFileSettings(path, 'MISP');
  const head = await readHead(path);
  const scope = /"response"\s*:\s*\{/.test(head) ? 'attributes' : 'events';
  const { page } = await readSearchPage(settings, await openFile(settings, path), scope, 1, {
    toIdsOnly: true,
    state: { newest: undefined, truncated: false },
  });
  yield page.take('end');
}

/** The first few KB of a file: enough to see which shape a saved answer has. */
async function readHead(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
