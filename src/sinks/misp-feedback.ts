import { z } from 'zod';
import type { SinkConfig } from '../config/index.js';
import { AuthRejectedError } from '../http/failures.js';
import type { DeliveryItem } from '../store/index.js';
import type { SinkDeps } from './index.js';
import type { JsonResponse } from '../http/request.js';
import { parseBody, sinkHttp } from './settings.js';
import { asError } from './batches.js';
import { uuidV5 } from './stix-indicator.js';
import type { SendResult, Sink, SinkContext } from './types.js';

type MispFeedbackConfig = Extract<SinkConfig, { type: 'misp-feedback' }>;

// Feedback to MISP (vendor-apis.md §1.4): for every enriched IOC that came from a configured `misp`
// source, a sighting on the originating attribute and the score and vendor verdicts, either as tags on
// that attribute (`mode: tags`) or as one `iocflow-enrichment` object beside it in the event
// (`mode: object`). The misp source records the event UUID as a sighting's reference, so a batch first
// finds the attributes (restSearch by value, restricted to those events). Everything converges on a
// retry: tags are diffed against what the attribute carries; the object has a UUID derived from the
// attribute's, so a resend finds it (objects/view) and edits it in place instead of adding a second one;
// a sighting is added only when the attribute has no sighting of ours with the same type and timestamp.
// A withdrawal adds an expiration sighting (type 2) and moves the score to the new, lower one.

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
/** MISP sends booleans as booleans today, as "0"/"1" in older versions. */
const flag = z
  .union([z.boolean(), z.coerce.number()])
  .optional()
  .transform((v) => v === true || v === 1);
const objectAnswer = z.object({
  Object: z.object({
    uuid: z.string(),
    deleted: flag,
    Attribute: z
      .array(
        z.object({
          uuid: z.string(),
          object_relation: z.string().nullish(),
          value: z.string(),
          deleted: flag,
        }),
      )
      .optional(),
  }),
});

/** restSearch page size while resolving a batch's attributes. */
const PAGE = 1000;
/** MISP tag names are at most 255 characters. */
const MAX_TAG = 255;

/** Name of the enrichment object: template-less, so MISP stores it as sent, without template checks. */
export const ENRICHMENT_OBJECT = 'iocflow-enrichment';

/** One attribute of the enrichment object, as `objects/add` and `objects/edit` take it. */
export interface EnrichmentAttribute {
  uuid: string;
  object_relation: string;
  type: 'counter' | 'text' | 'datetime';
  category: 'Other';
  value: string;
  /** Context, not a detection: never exported to IDS rules, never correlated ("high" is in every event). */
  to_ids: false;
  disable_correlation: true;
  /** Inherit the event's distribution. */
  distribution: '5';
}

/** The enrichment object's UUID for one attribute: stable, so a resend finds the object it wrote. */
export function enrichmentObjectUuid(sightingSource: string, attributeUuid: string): string {
  return uuidV5(`misp-feedback-object|${sightingSource}|${attributeUuid}`);
}

/**
 * The enrichment object's attributes: score, severity, confidence, the explanation in one line, one
 * verdict per vendor, and when it was scored. Their UUIDs derive from the object's and the relation (the
 * vendor for verdicts), so an edit updates each in place.
 */
export function enrichmentAttributes(item: DeliveryItem, objectUuid: string): EnrichmentAttribute[] {
  const attribute = (relation: string, type: EnrichmentAttribute['type'], value: string, key = relation) => ({
    uuid: uuidV5(`${objectUuid}|${key}`),
    object_relation: relation,
    type,
    category: 'Other' as const,
    value,
    to_ids: false as const,
    disable_correlation: true as const,
    distribution: '5' as const,
  });
  const explanation = item.explanation
    .map((c) => `${c.factor}: ${c.input} (${c.points >= 0 ? '+' : ''}${c.points})`)
    .join('; ');
  const vendors = new Map<string, number>();
  return [
    attribute('score', 'counter', String(item.score)),
    attribute('severity', 'text', item.severity),
    attribute('confidence', 'counter', String(item.confidence)),
    ...(explanation ? [attribute('explanation', 'text', explanation)] : []),
    ...item.evidence.map((line) => {
      const colon = line.indexOf(': ');
      const vendor = colon < 0 ? line : line.slice(0, colon);
      const seen = vendors.get(vendor) ?? 0;
      vendors.set(vendor, seen + 1);
      return attribute('verdict', 'text', line, `verdict|${vendor}|${seen}`);
    }),
    attribute('scored-at', 'datetime', new Date(item.scoredAt).toISOString()),
  ];
}

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
    return call('POST', path, json, context);
  }

  async function call(method: 'GET' | 'POST', path: string, json: unknown, context: SinkContext) {
    const response = await http.call(`${base}${path}`, {
      method,
      headers,
      ...(json === undefined ? {} : { json }),
      signal: context.signal,
      // MISP answers a refused tag or object with 403 and a `saved: false` envelope: an answer about that
      // tag or object, not about the key. A key failure is a 403 too, told apart by its envelope.
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
    if (config.mode === 'object') return writeObject(item, a, context);
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
    return refusal('MISP tag', answer);
  }

  /**
   * Adds the attribute's enrichment object, or edits it when it is there and differs. An object a MISP
   * user deleted stays deleted: that is their call, reported as a refusal rather than undone.
   */
  async function writeObject(
    item: DeliveryItem,
    a: MispAttribute,
    context: SinkContext,
  ): Promise<string | undefined> {
    const uuid = enrichmentObjectUuid(config.sightingSource, a.uuid);
    const desired = enrichmentAttributes(item, uuid);
    const object = {
      uuid,
      name: ENRICHMENT_OBJECT,
      'meta-category': 'misc',
      description: 'What iocflow concluded about an attribute of this event: score, verdicts, explanation.',
      comment: `iocflow enrichment of ${a.value} (attribute ${a.uuid})`,
      distribution: '5',
    };
    const viewed = await call('GET', `/objects/view/${uuid}`, undefined, context);
    if (viewed.status === 404) {
      const eventUuid = a.Event?.uuid;
      if (!eventUuid) return 'MISP object: the attribute came without its event';
      const added = await post(
        `/objects/add/${eventUuid}`,
        { Object: { ...object, Attribute: desired } },
        context,
      );
      return objectWritten(added);
    }
    if (viewed.status !== 200)
      throw new Error(`MISP (sink ${name}) answered ${viewed.status} to objects/view`);
    const current = parseBody(http.site, objectAnswer, viewed).Object;
    if (current.deleted) return `MISP object ${uuid} was deleted in MISP; not recreated`;
    const have = new Map(
      (current.Attribute ?? [])
        .filter((x) => !x.deleted)
        .map((x) => [x.uuid, `${x.object_relation}=${x.value}`]),
    );
    const same =
      have.size === desired.length &&
      desired.every((d) => have.get(d.uuid) === `${d.object_relation}=${d.value}`);
    if (same) return undefined;
    // objects/edit replaces the attribute set: the ones sent by UUID are updated, the rest removed.
    return objectWritten(
      await post(`/objects/edit/${uuid}`, { Object: object, Attribute: desired }, context),
    );
  }

  function objectWritten(response: JsonResponse): string | undefined {
    if (response.status === 200) {
      parseBody(http.site, objectAnswer, response);
      return undefined;
    }
    return refusal('MISP object', tagAnswer.safeParse(response.body).data ?? {});
  }

  function refusal(what: string, answer: z.infer<typeof tagAnswer>): string {
    return `${what}: ${answer.message ?? 'refused'}${answer.errors ? ` (${JSON.stringify(answer.errors)})` : ''}`;
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
