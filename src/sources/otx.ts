import { z } from 'zod';
import type { SourceConfigOf } from '../config/index.js';
import { openFile } from './document.js';
import { openResponse } from './http.js';
import { hasBadUtf8, numberedJson } from './json-stream.js';
import { describeZodError, laterOf, PageBuilder, readCursor, writeCursor } from './pages.js';
import { durationMs } from '../config/primitives.js';
import { savedFileSettings, settingsOf, type SourceSettings } from './settings.js';
import type { Source, SourceContext, SourcePage, SourcePull } from './types.js';

type OtxConfig = SourceConfigOf<'otx'>;

/**
 * AlienVault OTX subscribed pulses: `GET /api/v1/pulses/subscribed?modified_since=…`, following the
 * absolute `next` URL until it is null. The watermark is the newest pulse `modified` taken (OTX's own
 * clock, UTC without a zone); the cursor is the next URL still to fetch. One API page is one stored page.
 */
export function otxSource(name: string, config: OtxConfig): Source {
  const settings = settingsOf(name, 'OTX', config, 'apiKey');
  const base = new URL(config.url);
  return {
    name,
    config,
    pull(context: SourceContext): SourcePull {
      const resumed = readCursor(otxCursor, context.resumeFrom);
      const state = { newest: resumed?.newest ?? context.memory.watermark, truncated: false };
      return {
        pages: (async function* () {
          if (readCursor(otxDone, context.resumeFrom)) return;
          const since =
            context.memory.watermark ??
            new Date(Date.now() - durationMs(config.since)).toISOString().slice(0, 19);
          const first = new URL('/api/v1/pulses/subscribed', base);
          first.searchParams.set('limit', String(settings.pageSize));
          first.searchParams.set('page', '1');
          first.searchParams.set('modified_since', since);
          let url: string | null = resumed ? resumed.next : first.toString();
          for (let n = 1; url !== null; n++) {
            // `next` comes from the server: never send the key to another origin.
            if (new URL(url).origin !== base.origin) {
              throw new Error(`source ${name}: OTX's next link points to another host; stopped`);
            }
            const opened = await openResponse(context, settings, {
              url,
              headers: { 'x-otx-api-key': config.apiKey, accept: 'application/json' },
            });
            if (opened.status === 'unchanged') return;
            const page = await readPulsePage(settings, opened.body, pageLabel(url, n), state);
            url = page.next;
            yield page.builder.take(
              url === null ? writeCursor({ done: true }) : writeCursor({ next: url, newest: state.newest }),
            );
          }
        })(),
        memory: () => (state.truncated ? context.memory : { ...context.memory, watermark: state.newest }),
      };
    },
  };
}

const otxCursor = z.object({ next: z.url(), newest: z.string().optional() });
/** The cursor after the last page: a resumed attempt has nothing left to fetch. */
const otxDone = z.object({ done: z.literal(true) });

function pageLabel(url: string, n: number): string {
  return `page ${new URL(url).searchParams.get('page') ?? n}`;
}

const pulse = z.object({
  id: z.string().min(1),
  modified: z.string().optional(),
  tlp: z.string().nullish(),
  adversary: z.string().nullish(),
  tags: z.array(z.string()).nullish(),
  malware_families: z
    .array(z.union([z.string(), z.object({ display_name: z.string() }).transform((m) => m.display_name)]))
    .nullish(),
  indicators: z.array(z.unknown()).nullish(),
});

const indicator = z.object({
  indicator: z.string(),
  type: z.string().min(1),
  is_active: z.union([z.number(), z.boolean()]).nullish(),
  expiration: z.string().nullish(),
});

/** OTX writes UTC without a zone (`2023-08-22T09:43:18.855000`). */
function otxTime(text: string): number {
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
}

async function readPulsePage(
  settings: SourceSettings,
  body: AsyncIterable<Buffer>,
  label: string,
  state: { newest: string | undefined; truncated: boolean },
  now = Date.now(),
): Promise<{ builder: PageBuilder; next: string | null }> {
  const builder = new PageBuilder(Number.MAX_SAFE_INTEGER);
  let next: string | null = null;
  for await (const item of numberedJson(settings.name, body, ['$.results.*', '$.next'])) {
    const position = `${settings.name} ${label}, pulse ${item.no}`;
    if ('problem' in item) {
      if (item.truncated) state.truncated = true;
      builder.error(position, item.problem);
      continue;
    }
    if (item.key === 'next') {
      if (typeof item.value === 'string' && item.value !== '') next = item.value;
      continue;
    }
    const parsed = pulse.safeParse(item.value);
    if (!parsed.success) {
      builder.error(position, `not an OTX pulse: ${describeZodError(parsed.error)}`);
      continue;
    }
    const p = parsed.data;
    if (p.modified) state.newest = laterOf(state.newest, p.modified, otxTime);
    const tags = [
      ...(p.tags ?? []),
      ...(p.malware_families ?? []),
      ...(p.adversary ? [`adversary:${p.adversary}`] : []),
      ...(p.tlp ? [`tlp:${p.tlp.toLowerCase()}`] : []),
    ];
    (p.indicators ?? []).forEach((raw, i) => {
      const at = `${position} (${p.id}) indicator ${i + 1}`;
      const ind = indicator.safeParse(raw);
      if (!ind.success) return builder.error(at, `not an OTX indicator: ${describeZodError(ind.error)}`);
      const { data } = ind;
      if (data.is_active === 0 || data.is_active === false) return builder.skip('inactive');
      if (data.expiration && otxTime(data.expiration) < now) return builder.skip('expired');
      if (hasBadUtf8(data.indicator)) return builder.error(at, 'indicator is not valid UTF-8');
      builder.entry({ value: data.indicator, typeHint: data.type, position: at, ref: p.id, tags });
    });
  }
  return { builder, next };
}

/** `iocflow parse --format otx PATH`: one saved page of `/pulses/subscribed`. */
export async function* readOtxFile(path: string): AsyncGenerator<SourcePage> {
  const settings = savedFileSettings(path, 'OTX');
  const page = await readPulsePage(settings, await openFile(settings, path), 'page', {
    newest: undefined,
    truncated: false,
  });
  yield page.builder.take('end');
}
