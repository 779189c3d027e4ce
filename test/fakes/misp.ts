import type { ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { startFakeServer, sendJson, text, type FakeServer } from './server.js';
import { applyFaults, sendBody, type Faults } from './faults.js';

// A MISP instance as vendor-apis.md §1 describes it: restSearch for attributes and events (auth by the raw
// key in `Authorization`, 403 with MISP's envelope otherwise; `limit` + 1-based `page`; `timestamp` as
// epoch, relative or range; `to_ids`; `tags` with `!`; `type`; `published`; `includeEventTags`), ids and
// timestamps as JSON strings, `X-Result-Count`; and the same events as a static MISP feed under /feed/.

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
}

export interface FakeEvent {
  uuid: string;
  info: string;
  timestamp: number;
  published?: boolean;
  Tag?: { name: string }[];
  Attribute: FakeAttribute[];
  Object?: { name: string; Attribute: FakeAttribute[] }[];
}

/** A sighting the feedback endpoint recorded. */
export interface FakeSighting {
  id: string;
  attributeUuid: string;
  type: '0' | '1' | '2';
  source: string;
  date_sighting: number;
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
}

const AUTH_FAILED =
  'Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.';

export async function startMispFake(options: { apiKey: string; events: FakeEvent[] }): Promise<MispFake> {
  const faults: Faults = {};
  const rawNext: string[] = [];
  const feedFiles = new Map<string, string | null>();
  const events = options.events;
  const sightings: FakeSighting[] = [];
  const refuseTags = new Set<string>();
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
    if (
      req.path !== '/attributes/restSearch' &&
      req.path !== '/events/restSearch' &&
      !feedback.includes(req.path)
    ) {
      return sendJson(res, 404, { name: 'Not Found', message: 'Not Found', url: req.path });
    }
    if (req.method !== 'POST')
      return sendJson(res, 405, { name: 'Method not allowed', message: 'Method not allowed', url: req.path });
    if (req.headers.authorization !== options.apiKey) {
      return sendJson(res, 403, { name: AUTH_FAILED, message: AUTH_FAILED, url: req.path });
    }
    if (feedback.includes(req.path)) return handleFeedback(req.path, req.body, res);
    const raw = rawNext.shift();
    if (raw !== undefined) return sendBody(res, faults, 200, raw, { 'content-type': 'application/json' });
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
    const since = timestampFilter(filters.timestamp);
    const toIds =
      filters.to_ids === undefined
        ? undefined
        : filters.to_ids === 1 || filters.to_ids === true || filters.to_ids === '1';
    const tagFilter = Array.isArray(filters.tags) ? (filters.tags as string[]) : undefined;
    const tagsOk = (tags: string[]) =>
      !tagFilter ||
      (tagFilter.filter((t) => !t.startsWith('!')).every((t) => tags.includes(t)) &&
        !tagFilter.filter((t) => t.startsWith('!')).some((t) => tags.includes(t.slice(1))));
    const inWindow = (ts: number) => ts >= since.from && ts <= since.to;
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
    const visible = events.filter(
      (e) => filters.published === undefined || e.published === filters.published,
    );

    if (req.path === '/attributes/restSearch') {
      const rows = visible.flatMap((e) =>
        [...e.Attribute, ...(e.Object ?? []).flatMap((o) => o.Attribute)]
          .filter((a) => inWindow(a.timestamp) && (toIds === undefined || a.to_ids === toIds) && !a.deleted)
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
      });
    }
    const rows = visible
      .filter((e) => inWindow(e.timestamp) && tagsOk((e.Tag ?? []).map((t) => t.name)))
      .map((e) => ({ Event: eventJson(e, idOf(e.uuid), toIds) }));
    return sendBody(res, faults, 200, JSON.stringify({ response: slice(rows) }), {
      'content-type': 'application/json',
      'x-result-count': String(rows.length),
    });
  });

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

  return { ...server, events, faults, rawNext, feedFiles, sightings, refuseTags, attribute };
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
  return {
    id: String(Number(eventId) * 1000 + e.Attribute.indexOf(a)),
    event_id: eventId,
    object_id: '0',
    object_relation: null,
    category: a.category ?? 'Network activity',
    type: a.type,
    value: a.value,
    to_ids: a.to_ids,
    uuid: a.uuid,
    timestamp: String(a.timestamp),
    distribution: '5',
    sharing_group_id: '0',
    comment: a.comment ?? '',
    deleted: false,
    disable_correlation: false,
    first_seen: null,
    last_seen: null,
    Event: { org_id: '1', distribution: '3', id: eventId, info: e.info, orgc_id: '2', uuid: e.uuid },
    Tag: [...(withEventTags ? (e.Tag ?? []) : []), ...(a.Tag ?? [])].map((t, i) => ({
      id: String(i + 1),
      name: t.name,
      colour: '#ffffff',
    })),
  };
}

function eventJson(e: FakeEvent, id: string, toIds: boolean | undefined) {
  const keep = (a: FakeAttribute) => toIds === undefined || a.to_ids === toIds;
  return {
    id,
    orgc_id: '2',
    org_id: '1',
    date: '2026-01-01',
    threat_level_id: '3',
    info: e.info,
    published: e.published ?? true,
    uuid: e.uuid,
    timestamp: String(e.timestamp),
    Tag: (e.Tag ?? []).map((t, i) => ({ id: String(i + 1), name: t.name, colour: '#ffffff' })),
    Attribute: e.Attribute.filter(keep).map((a) => ({ ...attributeJson(a, e, id, false), Event: undefined })),
    Object: (e.Object ?? []).map((o) => ({
      name: o.name,
      Attribute: o.Attribute.filter(keep).map((a) => attributeJson(a, e, id, false)),
    })),
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
    published: true,
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
