import { z } from 'zod';
import type { SourceConfigOf } from '../config/index.js';
import { openResponse } from './http.js';
import { numberedJson } from './json-stream.js';
import { laterOf, PageBuilder, readCursor, writeCursor } from './pages.js';
import { durationMs } from '../config/primitives.js';
import { settingsOf } from './settings.js';
import { addStixObject } from './stix.js';
import type { Source, SourceContext, SourcePull } from './types.js';

type TaxiiConfig = SourceConfigOf<'taxii'>;

const TAXII_JSON = 'application/taxii+json;version=2.1';

/**
 * A TAXII 2.1 collection: `GET {api root}/collections/{id}/objects/?added_after=…&limit=…`, then `next`
 * while `more` is true. The watermark is the server's `X-TAXII-Date-Added-Last` of the newest page; the
 * cursor carries the `next` token, the `added_after` the pull began with, and the newest date so far.
 * Objects are read as in a STIX bundle (stix.ts), with the same pattern parser.
 */
export function taxiiSource(name: string, config: TaxiiConfig): Source {
  const settings = settingsOf(name, 'TAXII', config, config.token ? 'token' : 'password');
  const objectsUrl = new URL(
    `collections/${encodeURIComponent(config.collection)}/objects/`,
    withSlash(config.url),
  );
  const auth = config.token
    ? `Bearer ${config.token}`
    : config.username !== undefined
      ? `Basic ${Buffer.from(`${config.username}:${config.password ?? ''}`).toString('base64')}`
      : undefined;
  return {
    name,
    config,
    pull(context: SourceContext): SourcePull {
      const resumed = readCursor(taxiiCursor, context.resumeFrom);
      const state = { newest: resumed?.newest ?? context.memory.watermark, truncated: false };
      return {
        pages: (async function* () {
          if (resumed?.done) return;
          const addedAfter =
            resumed?.addedAfter ??
            context.memory.watermark ??
            new Date(Date.now() - durationMs(config.since)).toISOString();
          let next = resumed?.next;
          for (let n = 1; ; n++) {
            const url = new URL(objectsUrl);
            url.searchParams.set('added_after', addedAfter);
            url.searchParams.set('limit', String(settings.pageSize));
            if (next) url.searchParams.set('next', next);
            const opened = await openResponse(context, settings, {
              url: url.toString(),
              headers: { accept: TAXII_JSON, ...(auth ? { authorization: auth } : {}) },
            });
            if (opened.status === 'unchanged') return;
            const last = opened.headers['x-taxii-date-added-last'];
            const page = new PageBuilder(Number.MAX_SAFE_INTEGER);
            let more = false;
            let nextToken: string | undefined;
            const now = Date.now();
            for await (const item of numberedJson(name, opened.body, ['$.objects.*', '$.more', '$.next'])) {
              const position = `${name} page ${n}, object ${item.no}`;
              if ('problem' in item) {
                if (item.truncated) state.truncated = true;
                page.error(position, item.problem);
              } else if (item.key === 'more') more = item.value === true;
              else if (item.key === 'next')
                nextToken = typeof item.value === 'string' ? item.value : undefined;
              else addStixObject(page, item.value, position, now);
            }
            if (typeof last === 'string' && !Number.isNaN(Date.parse(last))) {
              state.newest = laterOf(state.newest, last, Date.parse);
            }
            const done = !more || !nextToken;
            yield page.take(writeCursor({ addedAfter, next: nextToken, newest: state.newest, done }));
            if (done) return;
            next = nextToken;
          }
        })(),
        memory: () => (state.truncated ? context.memory : { ...context.memory, watermark: state.newest }),
      };
    },
  };
}

const taxiiCursor = z.object({
  addedAfter: z.string(),
  next: z.string().optional(),
  newest: z.string().optional(),
  done: z.boolean(),
});

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
