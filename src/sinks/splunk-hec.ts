import { z } from 'zod';
import { deliveryRecord } from './record.js';
import type { SinkConfig } from '../config/index.js';
import { AuthRejectedError, RequestRejectedError, UnavailableError } from '../http/failures.js';
import type { DeliveryItem } from '../store/index.js';
import { asError, chunkBySize } from './batches.js';
import { parseBody, sinkHttp } from './settings.js';
import { uuidV5 } from './stix-indicator.js';
import type { SendResult, Sink, SinkContext } from './types.js';
import type { SinkDeps } from './index.js';

type HecConfig = Extract<SinkConfig, { type: 'splunk-hec' }>;

// Splunk HTTP Event Collector (vendor-apis.md §7). HEC has no upsert and no idempotency key: every event
// carries the deterministic `delivery_id`, so a duplicate from a crash window is recognisable
// (`| dedup delivery_id`). The window is kept small: each request's events are settled as soon as Splunk
// answers (or acknowledges) them, and with indexer acknowledgement on, the ack ids of a batch in flight
// are kept in the in-flight marker, so a retry after a crash asks Splunk about them before resending.

const hecAnswer = z.object({
  text: z.string(),
  code: z.number().int(),
  ackId: z.number().int().optional(),
  'invalid-event-number': z.number().int().optional(),
});

const ackAnswer = z.object({ acks: z.record(z.string(), z.boolean()) });

/** HEC codes that blame one event of the batch (with `invalid-event-number`), not the request. */
const EVENT_CODES = new Set([6, 12, 13, 15]);
/** HEC codes that mean the token itself is refused (21/22 come back as 400). */
const TOKEN_CODES = new Set([1, 2, 3, 4, 21, 22]);

interface HecInflight {
  channel: string;
  /** Requests posted but not yet acknowledged: their ack id and the outbox rows they carried. */
  pending: { ackId: number; outboxIds: number[] }[];
  /** Rows Splunk reported indexed (it forgets an ack id once it said true, so we remember for it). */
  acked: number[];
}

/** `add` or `withdraw`: how an action reads in SPL. */
function splAction(item: DeliveryItem): 'add' | 'withdraw' {
  return item.action === 'upsert' ? 'add' : 'withdraw';
}

/** The event for one delivery. */
export function hecEvent(item: DeliveryItem, config: HecConfig) {
  return {
    // The score version's time: a duplicate of a delivery is the same event, byte for byte.
    time: item.scoredAt / 1000,
    ...(config.host ? { host: config.host } : {}),
    source: config.source,
    sourcetype: config.sourcetype,
    ...(config.index ? { index: config.index } : {}),
    event: { ...deliveryRecord(item), action: splAction(item) },
    fields: { delivery_id: item.deliveryId, action: splAction(item) },
  };
}

export function splunkHecSink(name: string, config: HecConfig, deps: SinkDeps): Sink {
  const http = sinkHttp(name, 'Splunk HEC', config, deps.http, 'token');
  const base = config.url.replace(/\/+$/, '');
  const channel = config.ack.channel ?? uuidV5(`splunk-hec-channel:${name}`);
  const headers = {
    authorization: `Splunk ${config.token}`,
    'content-type': 'application/json',
    ...(config.ack.enabled ? { 'x-splunk-request-channel': channel } : {}),
  };
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));

  return {
    name,
    config,
    async send(batch: readonly DeliveryItem[], context: SinkContext): Promise<SendResult> {
      const result: SendResult = { accepted: [], rejected: [] };
      let todo = batch;
      if (config.ack.enabled) {
        const acked = await recoverAcked(context);
        result.accepted.push(...batch.filter((i) => acked.has(i.outboxId)).map((i) => i.outboxId));
        todo = batch.filter((i) => !acked.has(i.outboxId));
      }
      const lines = todo.map((item) => ({ item, line: JSON.stringify(hecEvent(item, config)) + '\n' }));
      const { chunks, oversized } = chunkBySize(lines, config.batchSize, config.maxRequestBytes, (l) =>
        Buffer.byteLength(l.line),
      );
      for (const o of oversized) {
        result.rejected.push({
          outboxId: o.item.outboxId,
          message: `event larger than ${config.maxRequestBytes} bytes (config: ${http.key('maxRequestBytes')})`,
        });
      }
      const inflight: HecInflight = { channel, pending: [], acked: [] };
      try {
        for (const chunk of chunks) await postChunk(chunk, result, inflight, context);
        if (inflight.pending.length > 0) await awaitAcks(inflight, result, context);
      } catch (err) {
        return { ...result, failure: asError(err) };
      }
      return result;
    },
  };

  /** Posts events; an event Splunk blames is rejected and the ones after it go out again. */
  async function postChunk(
    chunk: { item: DeliveryItem; line: string }[],
    result: SendResult,
    inflight: HecInflight,
    context: SinkContext,
  ): Promise<void> {
    let rest = chunk;
    while (rest.length > 0) {
      const response = await http.call(`${base}/services/collector/event`, {
        method: 'POST',
        headers,
        body: rest.map((l) => l.line).join(''),
        signal: context.signal,
        answers: (s) => s === 200 || s === 400 || s === 401 || s === 403 || s === 413,
      });
      if (response.status === 413) {
        throw new RequestRejectedError(
          `${http.site.service}: request too large for the server (lower ${http.key('maxRequestBytes')})`,
          413,
        );
      }
      const answer = parseBody(http.site, hecAnswer, response);
      if (response.status === 401 || response.status === 403 || TOKEN_CODES.has(answer.code)) {
        throw new AuthRejectedError(
          `${http.site.service} rejected the token: ${answer.text} (config: ${http.key('token')})`,
          response.status,
        );
      }
      if (answer.code === 0) {
        const ids = rest.map((l) => l.item.outboxId);
        if (config.ack.enabled && answer.ackId !== undefined) {
          inflight.pending.push({ ackId: answer.ackId, outboxIds: ids });
          context.writeInflight(inflight);
        } else result.accepted.push(...ids);
        return;
      }
      const bad = answer['invalid-event-number'];
      if (!EVENT_CODES.has(answer.code) || bad === undefined || bad >= rest.length) {
        throw new RequestRejectedError(
          `${http.site.service} refused the request: ${answer.text} (code ${answer.code})${answer.code === 7 ? ` (config: ${http.key('index')})` : ''}${answer.code === 10 || answer.code === 11 || answer.code === 14 ? ` (config: ${http.key('ack')})` : ''}`,
          response.status,
        );
      }
      // Splunk indexed the events before the bad one and dropped the rest (a partial write).
      result.accepted.push(...rest.slice(0, bad).map((l) => l.item.outboxId));
      result.rejected.push({ outboxId: rest[bad]!.item.outboxId, message: `Splunk HEC: ${answer.text}` });
      rest = rest.slice(bad + 1);
    }
  }

  /** Polls the ack endpoint until every pending request is indexed; unanswered ones time out (retried). */
  async function awaitAcks(inflight: HecInflight, result: SendResult, context: SinkContext): Promise<void> {
    const deadline = Date.now() + config.ack.timeoutMs;
    for (;;) {
      const status = await pollAcks(
        inflight.pending.map((p) => p.ackId),
        context,
      );
      const done = inflight.pending.filter((p) => status[String(p.ackId)] === true);
      if (done.length > 0) {
        for (const p of done) {
          result.accepted.push(...p.outboxIds);
          inflight.acked.push(...p.outboxIds);
        }
        inflight.pending = inflight.pending.filter((p) => status[String(p.ackId)] !== true);
        context.writeInflight(inflight);
      }
      if (inflight.pending.length === 0) return;
      if (Date.now() >= deadline) {
        context.writeInflight(inflight);
        throw new UnavailableError(
          `${http.site.service}: ${inflight.pending.length} request(s) not acknowledged within ${config.ack.timeoutMs} ms`,
        );
      }
      await sleep(config.ack.pollIntervalMs);
    }
  }

  async function pollAcks(ackIds: number[], context: SinkContext): Promise<Record<string, boolean>> {
    const response = await http.call(`${base}/services/collector/ack`, {
      method: 'POST',
      headers,
      searchParams: { channel },
      json: { acks: ackIds },
      signal: context.signal,
    });
    return parseBody(http.site, ackAnswer, response).acks;
  }

  /** Rows of a crashed attempt that Splunk has indexed meanwhile: settled without sending them again. */
  async function recoverAcked(context: SinkContext): Promise<Set<number>> {
    const marker = z
      .object({
        channel: z.string(),
        pending: z.array(z.object({ ackId: z.number(), outboxIds: z.array(z.number()) })),
        acked: z.array(z.number()).default([]),
      })
      .safeParse(context.readInflight());
    if (!marker.success || marker.data.channel !== channel) return new Set();
    const acked = new Set(marker.data.acked);
    if (marker.data.pending.length === 0) return acked;
    const status = await pollAcks(
      marker.data.pending.map((p) => p.ackId),
      context,
    );
    for (const p of marker.data.pending.filter((p) => status[String(p.ackId)] === true))
      for (const id of p.outboxIds) acked.add(id);
    return acked;
  }
}
