import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { SourceConfigOf } from '../config/index.js';
import { RequestRejectedError } from '../http/failures.js';
import { documentMemory, openFile, type OpenedDocument } from './document.js';
import { openResponse } from './http.js';
import { numberedJson, streamJson, NotJsonError } from './json-stream.js';
import { addEvent } from './misp.js';
import { describeZodError, PageBuilder, readCursor, writeCursor } from './pages.js';
import { savedFileSettings, settingsOf, type SourceSettings } from './settings.js';
import type { EntryError, Source, SourceContext, SourcePage, SourcePull } from './types.js';

type MispFeedConfig = SourceConfigOf<'misp-feed'>;

/** A feed event may be large (thousands of attributes); it is still read as one record, up to this. */
const MAX_EVENT_BYTES = 64 << 20;

/**
 * A MISP feed (`manifest.json` + `<uuid>.json` per event) from a directory or a base URL. Events whose
 * manifest `timestamp` is above the watermark are fetched, oldest first, one page each; unchanged events
 * cost nothing, an unchanged manifest one 304. The cursor is the last event taken, so a resumed pull
 * fetches no finished event again.
 *
 * The watermark is a low-water mark: the newest timestamp T such that every manifest event up to T is
 * stored. An event file that is missing (404, no such file) or unreadable (not JSON, broken off, no MISP
 * event) is a problem of that event: it is reported with its uuid, the other events are stored, and the
 * watermark stays below its timestamp (at most its timestamp - 1), so the next cycle fetches it again,
 * together with the newer events already stored (sightings are idempotent). The manifest's validators are
 * then not remembered either, or the next cycle would get a 304 and never look again. A source-wide
 * failure (auth, rate limit, server down) still fails the pull, for Temporal to retry.
 */
export function mispFeedSource(name: string, config: MispFeedConfig): Source {
  const settings = settingsOf(name, 'MISP feed', config);
  return {
    name,
    config,
    pull(context: SourceContext): SourcePull {
      const resumed = readCursor(feedCursor, context.resumeFrom);
      let opened: OpenedDocument | undefined;
      let newest = resumed?.newest ?? context.memory.watermark;
      let failedAt = resumed?.failedAt;
      const feed = feedAccess(context, settings, config);
      return {
        pages: (async function* () {
          opened = await feed.manifest();
          if (opened.status === 'unchanged') return;
          const manifest = await changedEvents(settings, opened.body, context.memory.watermark);
          // A resumed pull already reported the manifest's bad entries with its first page.
          let pending: EntryError[] = resumed ? [] : manifest.problems;
          for (const event of manifest.events) {
            if (resumed && compareEvents(event, resumed.last) <= 0) continue;
            const read = await readEvent(
              settings,
              await feed.event(event.uuid),
              event.uuid,
              config.toIdsOnly,
            );
            if (read.failed) {
              failedAt = Math.min(failedAt ?? event.timestamp, event.timestamp);
            } else if (newest === undefined || event.timestamp > Number(newest)) {
              newest = String(event.timestamp);
            }
            const page = read.builder.take(writeCursor({ last: event, newest, failedAt }));
            page.errors = [...pending, ...page.errors];
            pending = [];
            yield page;
          }
          if (pending.length > 0)
            yield { entries: [], errors: pending, cursor: writeCursor({ newest, failedAt }) };
        })(),
        memory: () => {
          const kept = documentMemory(context.memory, opened, failedAt !== undefined);
          return { ...kept, watermark: lowWaterMark(newest, failedAt) };
        },
      };
    },
  };
}

/** The newest timestamp taken, held below the oldest event that failed. */
function lowWaterMark(newest: string | undefined, failedAt: number | undefined): string | undefined {
  if (newest === undefined || failedAt === undefined) return newest;
  return String(Math.min(Number(newest), failedAt - 1));
}

const manifestEvent = z.object({
  timestamp: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]),
});
const eventRef = z.object({ uuid: z.string(), timestamp: z.number().int() });
const feedCursor = z.object({
  last: eventRef.optional(),
  newest: z.string().optional(),
  failedAt: z.number().int().optional(),
});
type EventRef = z.infer<typeof eventRef>;

/** Event file names come from the manifest: only UUIDs, so no key can point outside the feed. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function compareEvents(a: EventRef, b: EventRef | undefined): number {
  if (b === undefined) return 1;
  return a.timestamp - b.timestamp || (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0);
}

/** An event file's body, or why there is none for this event alone. */
type EventBody = { body: AsyncIterable<Buffer> } | { missing: string };

interface FeedAccess {
  manifest(): Promise<OpenedDocument>;
  event(uuid: string): Promise<EventBody>;
}

function feedAccess(context: SourceContext, settings: SourceSettings, location: MispFeedConfig): FeedAccess {
  if (location.path !== undefined) {
    const dir = location.path;
    return {
      manifest: async () => ({
        status: 'ok',
        body: await openFile(settings, join(dir, 'manifest.json'), context.signal),
        validators: {},
      }),
      event: (uuid) => openEventFile(join(dir, `${uuid}.json`), context.signal),
    };
  }
  const base = (location.url ?? '').replace(/\/+$/, '');
  return {
    async manifest() {
      const opened = await openResponse(context, settings, {
        url: `${base}/manifest.json`,
        conditional: context.memory,
      });
      return opened.status === 'unchanged'
        ? opened
        : { status: 'ok', body: opened.body, validators: opened.validators };
    },
    async event(uuid) {
      let opened;
      try {
        opened = await openResponse(context, settings, { url: `${base}/${uuid}.json` });
      } catch (err) {
        // A 4xx other than auth (401/403) and rate limits (429) is about this one file (404: listed but not
        // published); those and 5xx are about the whole feed and fail the pull, for Temporal to retry.
        if (!(err instanceof RequestRejectedError)) throw err;
        return {
          missing:
            err.status === 404
              ? 'the event file is not found (404)'
              : `the event file is refused (${err.status})`,
        };
      }
      if (opened.status === 'unchanged')
        throw new Error(`source ${settings.name}: 304 for an unconditional GET`);
      return { body: opened.body };
    },
  };
}

async function openEventFile(path: string, signal: AbortSignal | undefined): Promise<EventBody> {
  try {
    const handle = await open(path, 'r');
    return { body: handle.createReadStream(signal ? { signal } : {}) };
  } catch (err) {
    return {
      missing: `the event file cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    };
  }
}

/**
 * Events of the manifest newer than the watermark, oldest first. A manifest that is no JSON object fails
 * the pull; an entry that is no event (key not a UUID, no timestamp) is a problem of that entry.
 */
async function changedEvents(
  settings: SourceSettings,
  manifest: AsyncIterable<Buffer>,
  watermark: string | undefined,
): Promise<{ events: EventRef[]; problems: EntryError[] }> {
  const since = watermark === undefined ? -1 : Number(watermark);
  const events: EventRef[] = [];
  const problems: EntryError[] = [];
  for await (const item of numberedJson(settings.name, manifest, ['$.*'])) {
    if ('problem' in item)
      throw new Error(`source ${settings.name}: manifest.json is broken: ${item.problem}`);
    const uuid = String(item.key);
    const parsed = manifestEvent.safeParse(item.value);
    if (!UUID.test(uuid) || !parsed.success) {
      problems.push({
        position: `${settings.name} manifest.json entry ${JSON.stringify(uuid.slice(0, 40))}`,
        message: `not an event (${parsed.success ? 'key is not a UUID' : describeZodError(parsed.error)})`,
      });
      continue;
    }
    if (parsed.data.timestamp > since) events.push({ uuid, timestamp: parsed.data.timestamp });
  }
  return { events: events.sort(compareEvents), problems };
}

/**
 * One event file, `{"Event": {...}}`, as one page. `failed` says the event could not be read at all (its
 * file missing, not JSON, broken off, no MISP event); bad attributes of a readable event are entry errors.
 */
async function readEvent(
  settings: SourceSettings,
  file: EventBody,
  uuid: string,
  toIdsOnly: boolean,
): Promise<{ builder: PageBuilder; failed: boolean }> {
  const builder = new PageBuilder(Number.MAX_SAFE_INTEGER);
  const position = `${settings.name} event ${uuid}`;
  const fail = (reason: string) => {
    builder.error(position, reason);
    return { builder, failed: true };
  };
  if ('missing' in file) return fail(file.missing);
  let failed = false;
  let found = false;
  try {
    for await (const item of streamJson(file.body, ['$.Event'], MAX_EVENT_BYTES)) {
      if (item.kind === 'broken') {
        failed = true;
        builder.error(position, `the event file is broken: ${item.problem}`);
      } else {
        found = true;
        const read = addEvent(builder, item.value, position, {
          toIdsOnly,
          state: { newest: undefined, truncated: false },
        });
        if (!read) failed = true;
      }
    }
  } catch (err) {
    if (!(err instanceof NotJsonError)) throw err;
    return fail(`the event file is ${err.message}`);
  }
  if (!found && !failed) return fail('the event file has no "Event"');
  return { builder, failed };
}

/** `iocflow parse --format misp-feed DIR`: every event of a feed directory. */
export async function* readMispFeedDirectory(dir: string): AsyncGenerator<SourcePage> {
  const settings = savedFileSettings(dir, 'MISP feed');
  const { events, problems } = await changedEvents(
    settings,
    await openFile(settings, join(dir, 'manifest.json')),
    undefined,
  );
  if (problems.length > 0) yield { entries: [], errors: problems, cursor: 'manifest.json' };
  for (const event of events) {
    const { builder } = await readEvent(
      settings,
      await openEventFile(join(dir, `${event.uuid}.json`), undefined),
      event.uuid,
      true,
    );
    yield builder.take(event.uuid);
  }
}
