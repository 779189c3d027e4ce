import { z } from 'zod';
import type { SinkConfig } from '../config/index.js';
import { AuthRejectedError } from '../http/failures.js';
import type { DeliveryItem } from '../store/index.js';
import type { SinkDeps } from './index.js';
import { parseBody, sinkHttp } from './settings.js';
import { asError } from './batches.js';
import type { SendResult, Sink, SinkContext } from './types.js';

type MispFeedbackConfig = Extract<SinkConfig, { type: 'misp-feedback' }>;

// Feedback to MISP (vendor-apis.md §1.4): for every enriched IOC that came from a configured `misp`
// source, a sighting on the originating attribute and the score and vendor verdicts as tags on it.
// The misp source records the event UUID as a sighting's reference, so a batch first finds the
// attributes (restSearch by value, restricted to those events). Everything converges on a retry: tags
// are diffed against what the attribute carries, and a sighting is added only when the attribute has no
// sighting of ours with the same type and timestamp. A withdrawal adds an expiration sighting (type 2)
// and moves the score tag to the new, lower score.

const attribute = z.object({
  id: z.string(),
  uuid: z.string(),
  value: z.string(),
  Event: z.object({ uuid: z.string() }).partial().optional(),
  Tag: z.array(z.object({ name: z.string() })).optional(),
  Sighting: z
    .array(
      z.object({ type: z.coerce.string(), source: z.string().nullish(), date_sighting: z.coerce.number() }),
    )
    .optional(),
});
type MispAttribute = z.infer<typeof attribute>;
const searchAnswer = z.object({ response: z.object({ Attribute: z.array(attribute) }) });
const sightingAnswer = z.union([
  z.object({ Sighting: z.object({ id: z.coerce.string() }).passthrough() }),
  z.object({ message: z.string() }),
]);
const tagAnswer = z.object({
  saved: z.boolean().optional(),
  success: z.boolean().optional(),
  message: z.string().optional(),
  errors: z.unknown().optional(),
});

/** restSearch page size while resolving a batch's attributes. */
const PAGE = 1000;
/** MISP tag names are at most 255 characters. */
const MAX_TAG = 255;

/** The tags an IOC's feedback carries: score, severity and one per vendor verdict. */
export function feedbackTags(item: DeliveryItem, prefix: string): string[] {
  const tag = (k: string, v: string) => `${prefix}:${k}="${v.replace(/"/g, "'")}"`.slice(0, MAX_TAG);
  return [
    tag('score', String(item.score)),
    tag('severity', item.severity),
    ...item.evidence.map((line) => {
      const colon = line.indexOf(': ');
      return colon < 0 ? tag('verdict', line) : tag(line.slice(0, colon), line.slice(colon + 2));
    }),
  ];
}

export function mispFeedbackSink(name: string, config: MispFeedbackConfig, deps: SinkDeps): Sink {
  const http = sinkHttp(name, 'MISP', config, deps.http, 'apiKey');
  const base = config.url.replace(/\/+$/, '');
  const headers = { authorization: config.apiKey, 'content-type': 'application/json' };
  const sources = new Set(config.sources);
  const ours = `${config.tagPrefix}:`;

  async function post(path: string, json: unknown, context: SinkContext) {
    const response = await http.call(`${base}${path}`, {
      method: 'POST',
      headers,
      json,
      signal: context.signal,
      // MISP answers a refused tag with 403 and a `saved: false` envelope: an answer about that tag, not
      // about the key. A key failure is a 403 too, told apart by its message.
      answers: (s) => s === 200 || s === 403 || s === 404,
    });
    if (response.status === 403) {
      const body = tagAnswer.safeParse(response.body).data;
      if (!body || body.saved !== false) {
        throw new AuthRejectedError(
          `MISP (sink ${name}) rejected the API key (403) (config: ${http.key('apiKey')})`,
          403,
        );
      }
    }
    return response;
  }

  async function resolve(items: readonly DeliveryItem[], events: Set<string>, context: SinkContext) {
    const found: MispAttribute[] = [];
    for (let page = 1; ; page++) {
      const response = await post(
        '/attributes/restSearch',
        {
          returnFormat: 'json',
          value: [...new Set(items.map((i) => i.value))],
          uuid: [...events],
          includeSightings: true,
          limit: PAGE,
          page,
        },
        context,
      );
      if (response.status !== 200)
        throw new Error(`MISP (sink ${name}) answered ${response.status} to restSearch`);
      const rows = parseBody(http.site, searchAnswer, response).response.Attribute;
      found.push(...rows);
      if (rows.length < PAGE) return found;
    }
  }

  /** Brings one attribute's feedback up to date; returns a refusal message, or undefined when done. */
  async function feedBack(
    item: DeliveryItem,
    a: MispAttribute,
    context: SinkContext,
  ): Promise<string | undefined> {
    const type = item.action === 'upsert' ? '0' : '2';
    const timestamp = Math.floor((item.action === 'upsert' ? item.lastSeen : item.scoredAt) / 1000);
    const already = (a.Sighting ?? []).some(
      (s) => s.source === config.sightingSource && s.type === type && s.date_sighting === timestamp,
    );
    if (!already) {
      const response = await post(
        '/sightings/add',
        { uuid: a.uuid, type, source: config.sightingSource, timestamp },
        context,
      );
      const answer = parseBody(http.site, sightingAnswer, response);
      if ('message' in answer) return `MISP sighting: ${answer.message}`;
    }
    const desired = feedbackTags(item, config.tagPrefix);
    const current = (a.Tag ?? []).map((t) => t.name).filter((t) => t.startsWith(ours));
    for (const stale of current.filter((t) => !desired.includes(t))) {
      const refused = await tagCall('/tags/removeTagFromObject', { uuid: a.uuid, tag: stale }, context);
      if (refused) return refused;
    }
    const missing = desired.filter((t) => !current.includes(t));
    if (missing.length > 0)
      return tagCall('/tags/attachTagToObject', { uuid: a.uuid, tag: missing, local: false }, context);
    return undefined;
  }

  async function tagCall(path: string, json: unknown, context: SinkContext): Promise<string | undefined> {
    const response = await post(path, json, context);
    const answer = parseBody(http.site, tagAnswer, response);
    if (response.status === 200 && answer.saved !== false) return undefined;
    return `MISP tag: ${answer.message ?? 'refused'}${answer.errors ? ` (${JSON.stringify(answer.errors)})` : ''}`;
  }

  return {
    name,
    config,
    async send(batch: readonly DeliveryItem[], context: SinkContext): Promise<SendResult> {
      const result: SendResult = { accepted: [], rejected: [] };
      const eventsOf = new Map<number, Set<string>>();
      for (const item of batch) {
        const events = new Set(item.refs.filter((r) => sources.has(r.source)).map((r) => r.ref));
        // Nothing came from MISP: there is nothing to feed back, and nothing to wait for.
        if (events.size === 0) result.accepted.push(item.outboxId);
        else eventsOf.set(item.outboxId, events);
      }
      const todo = batch.filter((i) => eventsOf.has(i.outboxId));
      if (todo.length === 0) return result;
      try {
        const attributes = await resolve(
          todo,
          new Set([...eventsOf.values()].flatMap((e) => [...e])),
          context,
        );
        for (const item of todo) {
          const events = eventsOf.get(item.outboxId)!;
          const targets = attributes.filter(
            (a) => a.Event?.uuid !== undefined && events.has(a.Event.uuid) && matches(a.value, item.value),
          );
          if (targets.length === 0) {
            result.rejected.push({
              outboxId: item.outboxId,
              message: `MISP holds no attribute with this value in event(s) ${[...events].join(', ')}`,
            });
            continue;
          }
          let refused: string | undefined;
          for (const a of targets) refused ??= await feedBack(item, a, context);
          if (refused) result.rejected.push({ outboxId: item.outboxId, message: refused });
          else result.accepted.push(item.outboxId);
        }
      } catch (err) {
        return { ...result, failure: asError(err) };
      }
      return result;
    },
  };
}

/** A MISP value matches the IOC's canonical value as itself or as one part of a composite (`a|b`). */
function matches(mispValue: string, value: string): boolean {
  const v = value.toLowerCase();
  return mispValue.toLowerCase() === v || mispValue.toLowerCase().split('|').includes(v);
}
