import type { ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from './server.js';
import { sleep, type ScriptedResponse } from './limits.js';
import { applyFaults, type Faults } from './faults.js';

// Splunk HTTP Event Collector as vendor-apis.md §7 describes it: `Authorization: Splunk <token>` (codes
// 2/3/4/1), concatenated JSON events (not an array) with the per-event checks and `invalid-event-number`
// (events before the bad one are indexed: a partial write), per-token allowed indexes (code 7), flat
// `fields` (code 15), `max_content_length` (413), per-token indexer acknowledgement with channels (codes
// 10/11/14, increasing ackIds per channel, /services/collector/ack with a delay before `true`), and
// `Content-Encoding: gzip` bodies (§7.1).

export interface HecToken {
  /** Indexes this token may write to; events naming another get code 7. Unset: any. */
  indexes?: string[];
  useAck?: boolean;
  disabled?: boolean;
}

export interface HecFakeOptions {
  tokens: Record<string, HecToken>;
  /** limits.conf [http_input] max_content_length. @default 1_000_000 (Splunk Cloud) */
  maxContentLength?: number;
  /** How long an ackId stays `false` before it reads `true`. @default 0 */
  ackDelayMs?: number;
}

export interface HecEvent {
  time?: number;
  host?: string;
  source?: string;
  sourcetype?: string;
  index?: string;
  event: Record<string, unknown>;
  fields?: Record<string, string | string[]>;
}

export interface HecFake extends FakeServer {
  /** Every indexed event, duplicates included, in arrival order. */
  events: HecEvent[];
  /** Queue canned answers for the next event posts (503 code 9, 429…). */
  script(...responses: ScriptedResponse[]): void;
  /** Values to answer as invalid (code 6) when an event carries them. */
  invalidValues: Set<string>;
  /** Distinct delivery ids among the indexed events. */
  deliveryIds(): Set<string>;
  /** Event posts answered (any status), not counting ack polls. */
  posts: number;
  /** Index the next N posts, then answer 503 anyway (a worker that dies after sending, before marking). */
  indexThenFail: number;
  /** Faults for event posts (e.g. `status: 503` for a collector that is down); the health check still answers. */
  faults: Faults;
  /** Event posts (1-based, as counted by `posts`) to answer 503 code 9 without indexing. */
  failPosts: Set<number>;
}

const HEC = (code: number, text: string, extra: Record<string, unknown> = {}) => ({ text, code, ...extra });
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function startSplunkHecFake(options: HecFakeOptions): Promise<HecFake> {
  const maxContentLength = options.maxContentLength ?? 1_000_000;
  const events: HecEvent[] = [];
  const scripted: ScriptedResponse[] = [];
  const invalidValues = new Set<string>();
  /** Per channel: next ackId and when each outstanding id becomes true. */
  const channels = new Map<string, { next: number; ready: Map<number, number> }>();
  const state = { posts: 0, indexThenFail: 0 };
  const faults: Faults = {};
  const failPosts = new Set<number>();

  const handler = async (req: RecordedRequest, res: ServerResponse) => {
    if (req.method === 'GET' && req.path === '/services/collector/health')
      return sendJson(res, 200, HEC(17, 'HEC is healthy'));
    const isEvent = [
      '/services/collector',
      '/services/collector/event',
      '/services/collector/event/1.0',
    ].includes(req.path);
    if (!isEvent && req.path !== '/services/collector/ack') return sendJson(res, 404, HEC(404, 'Not Found'));
    const auth = req.headers.authorization;
    if (!auth) return sendJson(res, 401, HEC(2, 'Token is required'));
    const match = /^Splunk (\S+)$/.exec(auth);
    if (!match) return sendJson(res, 401, HEC(3, 'Invalid authorization'));
    const token = options.tokens[match[1]!];
    if (!token) return sendJson(res, 403, HEC(4, 'Invalid token'));
    if (token.disabled) return sendJson(res, 403, HEC(1, 'Token disabled'));
    const channelId = req.headers['x-splunk-request-channel'] ?? req.query.get('channel') ?? undefined;
    if (req.path === '/services/collector/ack') {
      if (!token.useAck) return sendJson(res, 400, HEC(14, 'ACK is disabled'));
      if (typeof channelId !== 'string') return sendJson(res, 400, HEC(10, 'Data channel is missing'));
      const channel = channels.get(channelId);
      const asked = (JSON.parse(req.body || '{}') as { acks?: number[] }).acks ?? [];
      const acks: Record<string, boolean> = {};
      for (const id of asked) {
        const at = channel?.ready.get(id);
        acks[String(id)] = at !== undefined && at <= Date.now();
        // Once reported true, an id is forgotten.
        if (acks[String(id)]) channel?.ready.delete(id);
      }
      return sendJson(res, 200, { acks });
    }
    state.posts++;
    if (failPosts.has(state.posts)) return sendJson(res, 503, HEC(9, 'Server is busy'));
    if (await applyFaults(faults, res, (status) => JSON.stringify(HEC(9, `Server is busy (${status})`))))
      return;
    const next = scripted.shift();
    if (next) {
      if (next.delayMs) await sleep(next.delayMs);
      return sendJson(res, next.status, next.body ?? HEC(9, 'Server is busy'), next.headers ?? {});
    }
    // The limit is on the request's content as sent: compressed, for a gzip body.
    if (req.bytes.length > maxContentLength)
      return sendJson(res, 413, HEC(27, `Content-Length of ${req.bytes.length} too large`));
    if (token.useAck) {
      if (typeof channelId !== 'string') return sendJson(res, 400, HEC(10, 'Data channel is missing'));
      if (!GUID.test(channelId)) return sendJson(res, 400, HEC(11, 'Invalid data channel'));
    }
    const body = decodedBody(req);
    if (typeof body !== 'string') return sendJson(res, body.status, body.answer);
    if (body.trim() === '') return sendJson(res, 400, HEC(5, 'No data'));
    const parsed = splitConcatenated(body);
    for (const [i, raw] of parsed.entries()) {
      const failure = checkEvent(raw, token, invalidValues);
      if (failure) return sendJson(res, 400, { ...failure, 'invalid-event-number': i });
      events.push(raw as HecEvent);
    }
    if (state.indexThenFail > 0) {
      state.indexThenFail--;
      return sendJson(res, 503, HEC(9, 'Server is busy'));
    }
    if (!token.useAck) return sendJson(res, 200, HEC(0, 'Success'));
    const channel = channels.get(channelId as string) ?? { next: 0, ready: new Map<number, number>() };
    channels.set(channelId as string, channel);
    const ackId = channel.next++;
    channel.ready.set(ackId, Date.now() + (options.ackDelayMs ?? 0));
    return sendJson(res, 200, HEC(0, 'Success', { ackId }));
  };

  const server = await startFakeServer(handler);
  return {
    ...server,
    events,
    invalidValues,
    faults,
    failPosts,
    script: (...r) => scripted.push(...r),
    deliveryIds: () => new Set(events.map((e) => String(e.event.delivery_id))),
    get posts() {
      return state.posts;
    },
    get indexThenFail() {
      return state.indexThenFail;
    },
    set indexThenFail(n: number) {
      state.indexThenFail = n;
    },
  };
}

/**
 * The body as text, undoing a gzip Content-Encoding, or the answer to a body HEC cannot read. The doc gives
 * no answer for a corrupt gzip body: it is data HEC cannot parse, so code 6. Deflate was observed to get a
 * 415 (§7.1); the body of that answer is not recorded, so this one is only the status's reason phrase.
 */
function decodedBody(req: RecordedRequest): string | { status: number; answer: unknown } {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity') return req.body;
  if (encoding !== 'gzip') return { status: 415, answer: { text: 'Unsupported Media Type' } };
  try {
    return gunzipSync(req.bytes).toString('utf8');
  } catch {
    return { status: 400, answer: HEC(6, 'Invalid data format') };
  }
}

/** The objects of a HEC body: JSON objects one after another. Something unparsable stays as a marker. */
function splitConcatenated(body: string): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  while (i < body.length) {
    while (i < body.length && /\s/.test(body[i]!)) i++;
    if (i >= body.length) break;
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < body.length; i++) {
      const c = body[i]!;
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    try {
      out.push(JSON.parse(body.slice(start, i)) as unknown);
    } catch {
      out.push(Symbol('unparsable'));
      break;
    }
  }
  return out;
}

function checkEvent(raw: unknown, token: HecToken, invalidValues: Set<string>) {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return HEC(6, 'Invalid data format');
  const e = raw as Record<string, unknown>;
  if (!('event' in e)) return HEC(12, 'Event field is required');
  if (e.event === '' || e.event === null) return HEC(13, 'Event field cannot be blank');
  if (typeof e.index === 'string' && token.indexes && !token.indexes.includes(e.index))
    return HEC(7, 'Incorrect index');
  if (e.fields !== undefined) {
    const flat =
      typeof e.fields === 'object' &&
      e.fields !== null &&
      Object.values(e.fields).every(
        (v) => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')),
      );
    if (!flat) return HEC(15, 'Error in handling indexed fields');
  }
  if (e.time !== undefined && typeof e.time !== 'number') return HEC(6, 'Invalid data format');
  const value = (e.event as Record<string, unknown>).value;
  if (typeof value === 'string' && invalidValues.has(value)) return HEC(6, 'Invalid data format');
  return undefined;
}
