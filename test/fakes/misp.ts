import type { ServerResponse } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { startFakeServer, sendJson, text, type FakeServer } from './server.js';
import { applyFaults, sendBody, type Faults } from './faults.js';

// A MISP instance as vendor-apis.md §1 describes it: restSearch for attributes and events (auth by the raw
// key in `Authorization`, 403 with MISP's envelope otherwise; `limit` + 1-based `page`; `timestamp`,
// `publish_timestamp` and (attributes) `event_timestamp` as epoch, relative or range; `to_ids`; `tags`
// with `!`; `type`; `published`; `deleted`; `includeEventTags`), ids and timestamps as JSON strings,
// `X-Result-Count`, an optional per-key rate limit (§1.6); and the same events as a static MISP feed
// under /feed/.

export interface FakeAttribute {
  uuid: string;
  type: string;
  value: string;
  category?: string;
  to_ids: boolean;
  timestamp: number;
  comment?: string;
  deleted?: boolean;
  Tag?: { name: string }[];
  /** Set on an object's attributes. */
  object_relation?: string;
  disable_correlation?: boolean;
  distribution?: string;
}

/** A MISP object in an event; objects added through /objects/add carry the optional fields. */
export interface FakeObject {
  name: string;
  Attribute: FakeAttribute[];
  uuid?: string;
  id?: string;
  'meta-category'?: string;
  description?: string;
  comment?: string;
  distribution?: string;
  timestamp?: number;
  deleted?: boolean;
}

export interface FakeEvent {
  uuid: string;
  info: string;
  timestamp: number;
  /** @default true */
  published?: boolean;
  /** When it was last published; publishing does not touch `timestamp`. @default timestamp, 0 if unpublished */
  publish_timestamp?: number;
  Tag?: { name: string }[];
  Attribute: FakeAttribute[];
  Object?: FakeObject[];
}

/** A sighting the feedback endpoint recorded. */
export interface FakeSighting {
  id: string;
  attributeUuid: string;
  type: '0' | '1' | '2';
  source: string;
  date_sighting: number;
}

/**
 * MISP's rate limit (RateLimitComponent): restSearch calls per key in a fixed window that opens with the
 * first call (a Redis counter with a TTL). A new object starts with fresh counters.
 */
export interface MispRateLimit {
  requests: number;
  /** @default 900 */
  windowSeconds?: number;
}

export interface MispFake extends FakeServer {
  events: FakeEvent[];
  /** Sightings added through /sightings/add. */
  sightings: FakeSighting[];
  /** Tags the user may not attach (403 with MISP's save-failure envelope). */
  refuseTags: Set<string>;
  /** The attribute with this uuid, wherever it is. */
  attribute(uuid: string): FakeAttribute | undefined;
  faults: Faults;
  /** Serve this raw text for the next restSearch instead of the real answer (malformed-page tests). */
  rawNext: string[];
  /**
   * Feed event files that differ from their event while the manifest still lists it, by uuid: `null` is a
   * 404 (listed, not published), a string is served as the file's body (malformed-event tests).
   */
  feedFiles: Map<string, string | null>;
  /** The object with this uuid, and its event. */
  object(uuid: string): { object: FakeObject; event: FakeEvent } | undefined;
  /** Limit restSearch per key (off when undefined); switch it between calls. */
  rateLimit: MispRateLimit | undefined;
}

const AUTH_FAILED =
  'Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.';

export async function startMispFake(options: {
  apiKey: string;
  events: FakeEvent[];
  rateLimit?: MispRateLimit;
}): Promise<MispFake> {
  const faults: Faults = {};
  const rawNext: string[] = [];
  const feedFiles = new Map<string, string | null>();
  const events = options.events;
  const sightings: FakeSighting[] = [];
  const refuseTags = new Set<string>();
  let objectCount = 0;
  const windows = new WeakMap<MispRateLimit, Map<string, { count: number; endsAt: number }>>();
  /**
   * Counts a restSearch call against the key's window, as MISP does before searching: the X-Rate-Limit-*
   * headers to send (none when no limit is on) and whether the call may go ahead.
   */
  const countSearch = (
    key: string,
    now = Date.now(),
  ): { allowed: boolean; headers: Record<string, string> } => {
    const limit = fake.rateLimit;
    if (!limit) return { allowed: true, headers: {} };
    const perKey = windows.get(limit) ?? new Map<string, { count: number; endsAt: number }>();
    windows.set(limit, perKey);
    let window = perKey.get(key);
    if (!window || window.endsAt <= now) {
      window = { count: 0, endsAt: now + (limit.windowSeconds ?? 900) * 1000 };
      perKey.set(key, window);
    }
    const allowed = window.count < limit.requests;
    if (allowed) window.count++;
    return {
      allowed,
      headers: {
        'x-rate-limit-limit': String(limit.requests),
        'x-rate-limit-remaining': String(limit.requests - window.count),
        // Redis's TTL in whole seconds: never 0 while the window is still open.
        'x-rate-limit-reset': String(Math.ceil((window.endsAt - now) / 1000)),
      },
    };
  };
  const allAttributes = () =>
    events.flatMap((e) => [...e.Attribute, ...(e.Object ?? []).flatMap((o) => o.Attribute)]);
  const attribute = (uuid: string) => allAttributes().find((a) => a.uuid === uuid);
  const idOf = (uuid: string) => String(1000 + events.findIndex((e) => e.uuid === uuid));
  const server = await startFakeServer(async (req, res) => {
    if (req.path.startsWith('/feed/')) return serveFeed(req.path.slice('/feed/'.length), req.headers, res);
    const envelope = (status: number) =>
      JSON.stringify(
        status === 429
          ? { name: 'Rate limit exceeded.', message: 'Rate limit exceeded.', url: req.path }
          : { name: `Error ${status}`, message: `Error ${status}`, url: req.path },
      );
    if (await applyFaults(faults, res, envelope)) return;
    const feedback = ['/sightings/add', '/tags/attachTagToObject', '/tags/removeTagFromObject'];
    const objectCall = /^\/objects\/(view|add|edit)\/([^/]+)$/.exec(req.path);
    if (
      req.path !== '/attributes/restSearch' &&
      req.path !== '/events/restSearch' &&
      !feedback.includes(req.path) &&
      !objectCall
    ) {
      return sendJson(res, 404, { name: 'Not Found', message: 'Not Found', url: req.path });
    }
    if (req.method !== (objectCall?.[1] === 'view' ? 'GET' : 'POST'))
      return sendJson(res, 405, { name: 'Method not allowed', message: 'Method not allowed', url: req.path });
    if (req.headers.authorization !== options.apiKey) {
      return sendJson(res, 403, { name: AUTH_FAILED, message: AUTH_FAILED, url: req.path });
    }
    if (objectCall) return handleObject(objectCall[1]!, decodeURIComponent(objectCall[2]!), req.body, res);
    if (feedback.includes(req.path)) return handleFeedback(req.path, req.body, res);
    const limited = countSearch(String(req.headers.authorization));
    if (!limited.allowed) {
      res.writeHead(429, { 'content-type': 'application/json', ...limited.headers });
      res.end(
        JSON.stringify({ name: 'Rate limit exceeded.', message: 'Rate limit exceeded.', url: req.path }),
      );
      return;
    }
    const raw = rawNext.shift();
    if (raw !== undefined)
      return sendBody(res, faults, 200, raw, { 'content-type': 'application/json', ...limited.headers });
    let filters: Record<string, unknown>;
    try {
      const parsed = JSON.parse(req.body || '{}') as Record<string, unknown>;
      filters = (parsed.request as Record<string, unknown> | undefined) ?? parsed;
    } catch {
      return sendJson(res, 400, { name: 'Bad request', message: 'Invalid JSON', url: req.path });
    }
    const limit = Number(filters.limit ?? 0);
    const page = Number(filters.page ?? 1);
    const slice = <T>(all: T[]) => (limit > 0 ? all.slice((page - 1) * limit, page * limit) : all);
    const modified = timestampFilter(filters.timestamp);
    const publishedIn = timestampFilter(filters.publish_timestamp);
    const eventModified = timestampFilter(filters.event_timestamp);
    const deletedOk = deletedFilter(filters.deleted);
    const toIds =
      filters.to_ids === undefined
        ? undefined
        : filters.to_ids === 1 || filters.to_ids === true || filters.to_ids === '1';
    const tagFilter = Array.isArray(filters.tags) ? (filters.tags as string[]) : undefined;
    const tagsOk = (tags: string[]) =>
      !tagFilter ||
      (tagFilter.filter((t) => !t.startsWith('!')).every((t) => tags.includes(t)) &&
        !tagFilter.filter((t) => t.startsWith('!')).some((t) => tags.includes(t.slice(1))));
    const inWindow = (ts: number, window: { from: number; to: number }) =>
      ts >= window.from && ts <= window.to;
    const list = (v: unknown) =>
      v === undefined ? undefined : (Array.isArray(v) ? v : [v]).map((x) => String(x).toLowerCase());
    // MISP matches `value` against value1 and value2 of composite attributes, case-insensitively.
    const values = list(filters.value);
    const valueOk = (v: string) =>
      !values ||
      values.includes(v.toLowerCase()) ||
      v
        .toLowerCase()
        .split('|')
        .some((p) => values.includes(p));
    // `uuid` matches the attribute's own uuid or its event's.
    const uuids = list(filters.uuid);
    const uuidOk = (eventUuid: string, attributeUuid: string) =>
      !uuids || uuids.includes(eventUuid.toLowerCase()) || uuids.includes(attributeUuid.toLowerCase());
    const withSightings = filters.includeSightings === true || filters.includeSightings === 1;
    const published =
      filters.published === undefined ? undefined : [true, 1, '1'].includes(filters.published as never);
    const visible = events.filter(
      (e) =>
        (published === undefined || isPublished(e) === published) &&
        inWindow(publishTimestamp(e), publishedIn),
    );
    const jsonOptions = { toIds, deletedOk };

    if (req.path === '/attributes/restSearch') {
      const rows = visible
        .filter((e) => inWindow(e.timestamp, eventModified))
        .flatMap((e) =>
          attributesOf(e)
            .filter(({ attribute: a, deleted }) => deletedOk(deleted) && inWindow(a.timestamp, modified))
            .map(({ attribute }) => attribute)
            .filter((a) => toIds === undefined || a.to_ids === toIds)
            .filter((a) => filters.type === undefined || a.type === filters.type)
            .filter((a) => valueOk(a.value) && uuidOk(e.uuid, a.uuid))
            .filter((a) => tagsOk([...(e.Tag ?? []), ...(a.Tag ?? [])].map((t) => t.name)))
            .map((a) => ({
              ...attributeJson(a, e, idOf(e.uuid), filters.includeEventTags === true),
              ...(withSightings ? { Sighting: sightingsJson(a.uuid) } : {}),
            })),
        );
      return sendBody(res, faults, 200, JSON.stringify({ response: { Attribute: slice(rows) } }), {
        'content-type': 'application/json',
        'x-result-count': String(rows.length),
        ...limited.headers,
      });
    }
    const rows = visible
      .filter((e) => inWindow(e.timestamp, modified) && tagsOk((e.Tag ?? []).map((t) => t.name)))
      .map((e) => ({ Event: eventJson(e, idOf(e.uuid), jsonOptions) }));
    return sendBody(res, faults, 200, JSON.stringify({ response: slice(rows) }), {
      'content-type': 'application/json',
      'x-result-count': String(rows.length),
      ...limited.headers,
    });
  });

  const findObject = (ref: string) => {
    for (const event of events)
      for (const object of event.Object ?? [])
        if (object.uuid === ref || (object.id !== undefined && object.id === ref)) return { object, event };
    return undefined;
  };

  /**
   * The object API as MISP's ObjectsController answers REST calls: `GET /objects/view/{id|uuid}`, `POST
   * /objects/add/{event id|uuid}` and `POST /objects/edit/{id|uuid}`, each answering `{"Object": {…,
   * "Attribute": […]}}`; an unknown event or object is a 404 envelope, a failed save a 403 save-failure
   * envelope. The body may come wrapped in `request`, with the attributes under `Object.Attribute` or
   * beside `Object`. Objects without a known template are stored as sent (no template conformity).
   * An edit replaces the attribute set: attributes sent with a known uuid are updated, new ones added,
   * the rest soft-deleted.
   */
  function handleObject(action: string, ref: string, raw: string, res: ServerResponse) {
    const url = `/objects/${action}`;
    const fail = (errors: string) =>
      sendJson(res, 403, {
        saved: false,
        name: `Could not ${action} Object`,
        message: `Could not ${action} Object`,
        url,
        errors,
      });
    if (action === 'view') {
      const found = findObject(ref);
      if (!found) return sendJson(res, 404, { name: 'Invalid object.', message: 'Invalid object.', url });
      return sendJson(res, 200, { Object: objectJson(found.object, found.event, idOf(found.event.uuid)) });
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw || '{}') as Record<string, unknown>;
    } catch {
      return sendJson(res, 400, { name: 'Bad request', message: 'Invalid JSON', url });
    }
    if (typeof body.request === 'object' && body.request !== null)
      body = body.request as Record<string, unknown>;
    const meta = (typeof body.Object === 'object' && body.Object !== null ? body.Object : body) as Record<
      string,
      unknown
    >;
    const attributes = body.Attribute ?? meta.Attribute;
    const now = Math.floor(Date.now() / 1000);
    if (action === 'add') {
      const event = events.find((e) => e.uuid === ref || idOf(e.uuid) === ref);
      if (!event) return sendJson(res, 404, { name: 'Invalid event.', message: 'Invalid event.', url });
      if (!Array.isArray(attributes) || attributes.length === 0)
        return fail('Could not save the object as no attributes were set.');
      const problem = checkObject(meta) ?? attributes.map((a) => checkObjectAttribute(a)).find((p) => p);
      if (problem) return fail(problem);
      const uuid = typeof meta.uuid === 'string' ? meta.uuid : randomUUID();
      const taken = new Set(allAttributes().map((a) => a.uuid));
      if (findObject(uuid)) return fail(`{"uuid":["The UUID provided is not unique"]}`);
      const clash = (attributes as Record<string, unknown>[]).find((a) => taken.has(text(a.uuid)));
      if (clash) return fail(`{"uuid":["The UUID provided is not unique"]}`);
      objectCount++;
      const object: FakeObject = {
        name: text(meta.name),
        uuid,
        id: String(objectCount),
        'meta-category': text(meta['meta-category'] ?? 'misc'),
        description: text(meta.description ?? ''),
        comment: text(meta.comment ?? ''),
        distribution: text(meta.distribution ?? '5'),
        timestamp: now,
        deleted: false,
        Attribute: (attributes as Record<string, unknown>[]).map((a) => toFakeAttribute(a, now)),
      };
      event.Object = [...(event.Object ?? []), object];
      event.timestamp = now;
      return sendJson(res, 200, { Object: objectJson(object, event, idOf(event.uuid)) });
    }
    const found = findObject(ref);
    if (!found) return sendJson(res, 404, { name: 'Invalid object.', message: 'Invalid object.', url });
    if (!Array.isArray(attributes)) return fail('No attributes given.');
    const problem = attributes.map((a) => checkObjectAttribute(a)).find((p) => p);
    if (problem) return fail(problem);
    const { object, event } = found;
    const sent = new Map((attributes as Record<string, unknown>[]).map((a) => [text(a.uuid), a]));
    for (const current of object.Attribute) {
      const update = sent.get(current.uuid);
      if (!update) {
        if (!current.deleted) Object.assign(current, { deleted: true, timestamp: now });
        continue;
      }
      sent.delete(current.uuid);
      if (current.deleted || current.value !== text(update.value))
        Object.assign(current, { value: text(update.value), deleted: false, timestamp: now });
    }
    object.Attribute.push(...[...sent.values()].map((a) => toFakeAttribute(a, now)));
    if (typeof meta.comment === 'string') object.comment = meta.comment;
    object.timestamp = now;
    event.timestamp = now;
    return sendJson(res, 200, { Object: objectJson(object, event, idOf(event.uuid)) });
  }

  function sightingsJson(uuid: string) {
    return sightings
      .filter((x) => x.attributeUuid === uuid)
      .map((x) => ({ id: x.id, type: x.type, source: x.source, date_sighting: String(x.date_sighting) }));
  }

  /** Sightings and tags, as vendor-apis.md §1.4 describes them (HTTP 200 on a sighting that found nothing). */
  function handleFeedback(path: string, raw: string, res: ServerResponse) {
    const body = JSON.parse(raw || '{}') as Record<string, unknown>;
    if (path === '/sightings/add') {
      const type = text(body.type ?? '0');
      if (!['0', '1', '2'].includes(type))
        return sendJson(res, 200, { message: 'Could not add the Sighting. Reason: Invalid type.' });
      const targets =
        typeof body.uuid === 'string'
          ? [attribute(body.uuid)].filter((a) => a !== undefined)
          : allAttributes().filter((a) =>
              [body.value, ...((body.values as unknown[] | undefined) ?? [])].includes(a.value),
            );
      if (targets.length === 0)
        return sendJson(res, 200, {
          message: 'Could not add the Sighting. Reason: No valid attributes found.',
        });
      const added = targets.map((a) => ({
        id: String(sightings.length + 1),
        attributeUuid: a.uuid,
        type: type as FakeSighting['type'],
        source: typeof body.source === 'string' ? body.source : '',
        date_sighting: Number(body.timestamp ?? Math.floor(Date.now() / 1000)),
      }));
      sightings.push(...added);
      const first = added[0]!;
      return sendJson(res, 200, {
        Sighting: {
          id: first.id,
          attribute_id: '1',
          event_id: '1',
          org_id: '1',
          date_sighting: String(first.date_sighting),
          uuid: first.attributeUuid,
          source: first.source,
          type: first.type,
        },
      });
    }
    const target = typeof body.uuid === 'string' ? attribute(body.uuid) : undefined;
    const url = path;
    if (!target) return sendJson(res, 404, { name: 'Invalid object', message: 'Invalid object', url });
    const tags = (Array.isArray(body.tag) ? body.tag : [body.tag]).map(String);
    if (path === '/tags/removeTagFromObject') {
      target.Tag = (target.Tag ?? []).filter((t) => !tags.includes(t.name));
      return sendJson(res, 200, {
        saved: true,
        success: true,
        name: 'Tag(s) removed.',
        message: 'Tag(s) removed.',
        url,
      });
    }
    const refused = tags.filter((t) => refuseTags.has(t) || t.length > 255);
    if (refused.length > 0) {
      return sendJson(res, 403, {
        saved: false,
        name: 'Could not attach the tag(s)',
        message: 'Could not attach the tag(s)',
        url,
        errors: `Failed to attach ${refused.length} tags. Reasons: {"0":"Tag not found and insufficient privileges to create it."}`,
      });
    }
    const have = new Set((target.Tag ?? []).map((t) => t.name));
    target.Tag = [...(target.Tag ?? []), ...tags.filter((t) => !have.has(t)).map((name) => ({ name }))];
    return sendJson(res, 200, {
      saved: true,
      success: true,
      name: 'Tag(s) attached.',
      message: 'Tag(s) attached.',
      url,
    });
  }

  function serveFeed(
    file: string,
    headers: Record<string, string | string[] | undefined>,
    res: ServerResponse,
  ) {
    let body: string | undefined;
    if (file === 'manifest.json') {
      body = JSON.stringify(
        Object.fromEntries(
          events.map((e) => [
            e.uuid,
            {
              Orgc: { name: 'CIRCL', uuid: '55f6ea5e-2c60-40e5-964f-47a8950d210f' },
              Tag: e.Tag ?? [],
              info: e.info,
              date: '2026-01-01',
              analysis: 2,
              threat_level_id: 3,
              timestamp: e.timestamp,
            },
          ]),
        ),
      );
    } else {
      const event = events.find((e) => `${e.uuid}.json` === file);
      const override = event ? feedFiles.get(event.uuid) : undefined;
      if (event)
        body =
          override === undefined ? JSON.stringify({ Event: feedEventJson(event) }) : (override ?? undefined);
    }
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not Found');
      return;
    }
    const etag = `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"`;
    if (headers['if-none-match'] === etag) {
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    sendBody(res, faults, 200, body, { 'content-type': 'application/json', etag });
  }

  const fake: MispFake = {
    ...server,
    events,
    faults,
    rawNext,
    feedFiles,
    sightings,
    refuseTags,
    attribute,
    object: findObject,
    rateLimit: options.rateLimit,
  };
  return fake;
}

const isPublished = (e: FakeEvent) => e.published ?? true;
const publishTimestamp = (e: FakeEvent) => e.publish_timestamp ?? (isPublished(e) ? e.timestamp : 0);

/**
 * Every attribute of an event, its own and its objects', with whether MISP counts it deleted: deleting an
 * object deletes its attributes.
 */
function attributesOf(e: FakeEvent): { attribute: FakeAttribute; deleted: boolean }[] {
  return [
    ...e.Attribute.map((attribute) => ({ attribute, deleted: attribute.deleted ?? false })),
    ...(e.Object ?? []).flatMap((o) =>
      o.Attribute.map((attribute) => ({
        attribute,
        deleted: (o.deleted ?? false) || (attribute.deleted ?? false),
      })),
    ),
  ];
}

/** MISP's `deleted` filter: live records only by default, `1` deleted ones only, `[0, 1]` both. */
function deletedFilter(value: unknown): (deleted: boolean) => boolean {
  const wanted = (Array.isArray(value) ? value : [value ?? 0]).map((v) =>
    [true, 1, '1'].includes(v as never),
  );
  return (deleted) => wanted.includes(deleted);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const META_CATEGORIES = new Set([
  'file',
  'network',
  'financial',
  'marketing',
  'misc',
  'mobile',
  'internal',
  'vulnerability',
]);
/** The attribute types an object of ours may use, with the categories MISP allows for each. */
const OBJECT_TYPES: Record<string, { categories: string[]; valid: (v: string) => boolean }> = {
  counter: { categories: ['Other'], valid: (v) => /^\d+$/.test(v) },
  float: { categories: ['Other'], valid: (v) => v.trim() !== '' && Number.isFinite(Number(v)) },
  datetime: { categories: ['Other'], valid: (v) => !Number.isNaN(Date.parse(v)) },
  text: {
    categories: ['Other', 'Internal reference', 'External analysis', 'Attribution', 'Targeting data'],
    valid: (v) => v.trim() !== '',
  },
  comment: { categories: ['Other', 'Internal reference'], valid: (v) => v.trim() !== '' },
  link: { categories: ['External analysis', 'Internal reference'], valid: (v) => /^https?:\/\//.test(v) },
};

function checkObject(meta: Record<string, unknown>): string | undefined {
  if (typeof meta.name !== 'string' || meta.name === '') return '{"name":["Object name is required"]}';
  if (meta.uuid !== undefined && !UUID.test(text(meta.uuid)))
    return '{"uuid":["Please provide a valid RFC 4122 UUID"]}';
  if (meta['meta-category'] !== undefined && !META_CATEGORIES.has(text(meta['meta-category'])))
    return '{"meta-category":["Invalid meta category"]}';
  if (meta.distribution !== undefined && !/^[0-5]$/.test(text(meta.distribution)))
    return '{"distribution":["Invalid distribution"]}';
  return undefined;
}

/** MISP validates every attribute of an object before saving any (the object fails as a whole). */
function checkObjectAttribute(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return 'Could not save object: an attribute is not an object.';
  const a = raw as Record<string, unknown>;
  const relation = typeof a.object_relation === 'string' ? a.object_relation : '';
  const failed = (errors: Record<string, string[]>) =>
    `Could not save object as at least one attribute has failed validation (${relation}). ${JSON.stringify(errors)}`;
  if (relation === '') return failed({ object_relation: ['Object relation is required'] });
  const type = OBJECT_TYPES[text(a.type)];
  if (!type) return failed({ type: ['Options depend on the selected category.'] });
  if (a.category !== undefined && !type.categories.includes(text(a.category)))
    return failed({ category: ['Options depend on the selected category.'] });
  if (typeof a.value !== 'string' || !type.valid(a.value))
    return failed({ value: [`Invalid value for type ${text(a.type)}`] });
  if (a.uuid !== undefined && !UUID.test(text(a.uuid)))
    return failed({ uuid: ['Please provide a valid RFC 4122 UUID'] });
  if (a.to_ids !== undefined && typeof a.to_ids !== 'boolean')
    return failed({ to_ids: ['must be a boolean'] });
  return undefined;
}

function toFakeAttribute(a: Record<string, unknown>, now: number): FakeAttribute {
  return {
    uuid: typeof a.uuid === 'string' ? a.uuid : randomUUID(),
    type: text(a.type),
    value: text(a.value),
    category: text(a.category ?? 'Other'),
    to_ids: a.to_ids === true,
    timestamp: now,
    comment: text(a.comment ?? ''),
    deleted: false,
    object_relation: text(a.object_relation),
    disable_correlation: a.disable_correlation === true,
    distribution: text(a.distribution ?? '5'),
  };
}

/** An object as objects/view, add and edit return it: ids and timestamps as strings, its attributes inside. */
function objectJson(o: FakeObject, e: FakeEvent, eventId: string) {
  return {
    id: o.id ?? '0',
    name: o.name,
    'meta-category': o['meta-category'] ?? 'misc',
    description: o.description ?? '',
    template_uuid: null,
    template_version: null,
    event_id: eventId,
    uuid: o.uuid ?? '',
    timestamp: String(o.timestamp ?? e.timestamp),
    distribution: o.distribution ?? '5',
    sharing_group_id: '0',
    comment: o.comment ?? '',
    deleted: o.deleted ?? false,
    first_seen: null,
    last_seen: null,
    Attribute: o.Attribute.map((a) => ({
      id: '0',
      type: a.type,
      category: a.category ?? 'Other',
      to_ids: a.to_ids,
      uuid: a.uuid,
      object_id: o.id ?? '0',
      object_relation: a.object_relation ?? null,
      value: a.value,
      timestamp: String(a.timestamp),
      distribution: a.distribution ?? '5',
      sharing_group_id: '0',
      comment: a.comment ?? '',
      deleted: a.deleted ?? false,
      disable_correlation: a.disable_correlation ?? false,
      first_seen: null,
      last_seen: null,
    })),
  };
}

/** MISP's `timestamp` filter: epoch seconds, relative (`7d`, `24h`, `30m`) or a two-element range. */
function timestampFilter(value: unknown, now = Math.floor(Date.now() / 1000)): { from: number; to: number } {
  const one = (v: unknown): number => {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
    const m = typeof v === 'string' ? /^(\d+)([dhms])$/.exec(v) : null;
    if (m) return now - Number(m[1]) * { d: 86400, h: 3600, m: 60, s: 1 }[m[2] as 'd' | 'h' | 'm' | 's'];
    return 0;
  };
  if (Array.isArray(value)) return { from: one(value[0]), to: one(value[1]) };
  return { from: value === undefined ? 0 : one(value), to: Number.MAX_SAFE_INTEGER };
}

function attributeJson(a: FakeAttribute, e: FakeEvent, eventId: string, withEventTags: boolean) {
  const object = (e.Object ?? []).find((o) => o.Attribute.includes(a));
  return {
    id: String(
      Number(eventId) * 1000 + [...e.Attribute, ...(e.Object ?? []).flatMap((o) => o.Attribute)].indexOf(a),
    ),
    event_id: eventId,
    object_id: object?.id ?? '0',
    object_relation: a.object_relation ?? null,
    category: a.category ?? 'Network activity',
    type: a.type,
    value: a.value,
    to_ids: a.to_ids,
    uuid: a.uuid,
    timestamp: String(a.timestamp),
    distribution: '5',
    sharing_group_id: '0',
    comment: a.comment ?? '',
    deleted: (a.deleted ?? false) || (object?.deleted ?? false),
    disable_correlation: false,
    first_seen: null,
    last_seen: null,
    Event: {
      org_id: '1',
      distribution: '3',
      id: eventId,
      info: e.info,
      orgc_id: '2',
      uuid: e.uuid,
      publish_timestamp: String(publishTimestamp(e)),
    },
    Tag: [...(withEventTags ? (e.Tag ?? []) : []), ...(a.Tag ?? [])].map((t, i) => ({
      id: String(i + 1),
      name: t.name,
      colour: '#ffffff',
    })),
  };
}

/** An event with the attributes the filters keep; an event's attributes carry no `Event` of their own. */
function eventJson(
  e: FakeEvent,
  id: string,
  filters: { toIds: boolean | undefined; deletedOk: (deleted: boolean) => boolean },
) {
  const keep = (a: FakeAttribute, objectDeleted = false) =>
    (filters.toIds === undefined || a.to_ids === filters.toIds) &&
    filters.deletedOk(objectDeleted || (a.deleted ?? false));
  const json = (a: FakeAttribute) => ({ ...attributeJson(a, e, id, false), Event: undefined });
  return {
    id,
    orgc_id: '2',
    org_id: '1',
    date: '2026-01-01',
    threat_level_id: '3',
    info: e.info,
    published: isPublished(e),
    uuid: e.uuid,
    timestamp: String(e.timestamp),
    publish_timestamp: String(publishTimestamp(e)),
    Tag: (e.Tag ?? []).map((t, i) => ({ id: String(i + 1), name: t.name, colour: '#ffffff' })),
    Attribute: e.Attribute.filter((a) => keep(a)).map(json),
    // Deleting an object deletes its attributes: it shows when the `deleted` filter asks for those, or
    // when it is live (a live object keeps its place when to_ids leaves none of its attributes).
    Object: (e.Object ?? [])
      .map((o) => ({
        name: o.name,
        deleted: o.deleted ?? false,
        Attribute: o.Attribute.filter((a) => keep(a, o.deleted)).map(json),
      }))
      .filter((o) => o.Attribute.length > 0 || filters.deletedOk(o.deleted)),
    Galaxy: [],
  };
}

/** Feed events carry no numeric ids (PyMISP `_fields_for_feed`); timestamps as integers. */
function feedEventJson(e: FakeEvent) {
  return {
    uuid: e.uuid,
    info: e.info,
    threat_level_id: 3,
    analysis: 2,
    timestamp: e.timestamp,
    publish_timestamp: publishTimestamp(e),
    published: isPublished(e),
    date: '2026-01-01',
    Orgc: { name: 'CIRCL', uuid: '55f6ea5e-2c60-40e5-964f-47a8950d210f' },
    Tag: e.Tag ?? [],
    Attribute: e.Attribute.map((a) => ({
      ...a,
      comment: a.comment ?? '',
      deleted: a.deleted ?? false,
      disable_correlation: false,
    })),
    Object: (e.Object ?? []).map((o) => ({ name: o.name, Attribute: o.Attribute })),
  };
}
