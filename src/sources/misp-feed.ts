import { join } from 'node:path';
import { z } from 'zod';
import type { SourceConfigOf } from '../config/index.js';
import { documentMemory, openFile, type OpenedDocument } from './document.js';
import { openResponse } from './http.js';
import { numberedJson, streamJson, NotJsonError } from './json-stream.js';
import { addEvent } from './misp.js';
import { describeZodError, PageBuilder, readCursor, writeCursor } from './pages.js';
import { savedFileSettings, settingsOf, type SourceSettings } from './settings.js';
import type { Source, SourceContext, SourcePage, SourcePull } from './types.js';

type MispFeedConfig = SourceConfigOf<'misp-feed'>;

/** A feed event may be large (thousands of attributes); it is still read as one record, up to this. */
const MAX_EVENT_BYTES = 64 << 20;

/**
 * A MISP feed (`manifest.json` + `<uuid>.json` per event) from a directory or a base URL. The manifest's
 * per-event `timestamp` against the watermark (the newest event timestamp taken) decides which event files
 * are fetched; unchanged events cost nothing, an unchanged manifest one 304. Events are taken oldest first,
 * one page each; the cursor is the last event taken, so a resumed pull fetches no finished event again.
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
      let truncated = false;
      const feed = feedAccess(context, settings, config);
      return {
        pages: (async function* () {
          opened = await feed.manifest();
          if (opened.status === 'unchanged') return;
          const changed = await changedEvents(settings, opened.body, context.memory.watermark);
          for (const event of changed) {
            if (resumed && compareEvents(event, resumed.last) <= 0) continue;
            const page = await readEvent(
              settings,
              await feed.event(event.uuid),
              event.uuid,
              config.toIdsOnly,
            );
            if (page.truncated) truncated = true;
            if (newest === undefined || event.timestamp > Number(newest)) newest = String(event.timestamp);
            yield page.builder.take(writeCursor({ last: event, newest }));
          }
        })(),
        memory: () => {
          const kept = documentMemory(context.memory, opened, truncated);
          return truncated ? kept : { ...kept, watermark: newest };
        },
      };
    },
  };
}

const manifestEvent = z.object({
  timestamp: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]),
});
const eventRef = z.object({ uuid: z.string(), timestamp: z.number().int() });
const feedCursor = z.object({ last: eventRef, newest: z.string().optional() });
type EventRef = z.infer<typeof eventRef>;

/** Event file names come from the manifest: only UUIDs, so no key can point outside the feed. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function compareEvents(a: EventRef, b: EventRef): number {
  return a.timestamp - b.timestamp || (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0);
}

interface FeedAccess {
  manifest(): Promise<OpenedDocument>;
  event(uuid: string): Promise<AsyncIterable<Buffer>>;
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
      event: (uuid) => openFile(settings, join(dir, `${uuid}.json`), context.signal),
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
      const opened = await openResponse(context, settings, { url: `${base}/${uuid}.json` });
      if (opened.status === 'unchanged')
        throw new Error(`source ${settings.name}: 304 for an unconditional GET`);
      return opened.body;
    },
  };
}

/** Events of the manifest newer than the watermark, oldest first. */
async function changedEvents(
  settings: SourceSettings,
  manifest: AsyncIterable<Buffer>,
  watermark: string | undefined,
): Promise<EventRef[]> {
  const since = watermark === undefined ? -1 : Number(watermark);
  const changed: EventRef[] = [];
  for await (const item of numberedJson(settings.name, manifest, ['$.*'])) {
    if ('problem' in item)
      throw new Error(`source ${settings.name}: manifest.json is broken: ${item.problem}`);
    const uuid = String(item.key);
    const parsed = manifestEvent.safeParse(item.value);
    if (!UUID.test(uuid) || !parsed.success) {
      throw new Error(
        `source ${settings.name}: manifest.json entry ${JSON.stringify(uuid.slice(0, 40))} is not an event ` +
          `(${parsed.success ? 'key is not a UUID' : describeZodError(parsed.error)})`,
      );
    }
    if (parsed.data.timestamp > since) changed.push({ uuid, timestamp: parsed.data.timestamp });
  }
  return changed.sort(compareEvents);
}

/** One event file, `{"Event": {...}}`, as one page. A broken file is an error of that event only. */
async function readEvent(
  settings: SourceSettings,
  body: AsyncIterable<Buffer>,
  uuid: string,
  toIdsOnly: boolean,
): Promise<{ builder: PageBuilder; truncated: boolean }> {
  const builder = new PageBuilder(Number.MAX_SAFE_INTEGER);
  const position = `${settings.name} event ${uuid}`;
  let truncated = false;
  let found = false;
  try {
    for await (const item of streamJson(body, ['$.Event'], MAX_EVENT_BYTES)) {
      if (item.kind === 'broken') {
        truncated ||= item.truncated;
        builder.error(position, item.problem);
      } else {
        found = true;
        addEvent(builder, item.value, position, {
          toIdsOnly,
          state: { newest: undefined, truncated: false },
        });
      }
    }
  } catch (err) {
    if (!(err instanceof NotJsonError)) throw err;
    builder.error(position, `the event file is ${err.message}`);
    return { builder, truncated };
  }
  if (!found && !truncated) builder.error(position, 'the event file has no "Event"');
  return { builder, truncated };
}

/** `iocflow parse --format misp-feed DIR`: every event of a feed directory. */
export async function* readMispFeedDirectory(dir: string): AsyncGenerator<SourcePage> {
  const settings = savedFileSettings(dir, 'MISP feed');
  const events = await changedEvents(
    settings,
    await openFile(settings, join(dir, 'manifest.json')),
    undefined,
  );
  for (const event of events) {
    const { builder } = await readEvent(
      settings,
      await openFile(settings, join(dir, `${event.uuid}.json`)),
      event.uuid,
      true,
    );
    yield builder.take(event.uuid);
  }
}
