import { afterEach, describe, expect, test } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { createEnricher } from '../../src/enrichers/index.js';
import { createHttpClient } from '../../src/http/client.js';
import { MAX_RESPONSE_BYTES, requestJson, ResponseTooLargeError } from '../../src/http/request.js';
import { startFakeServer, type FakeServer } from '../fakes/server.js';
import { startShodanFake } from '../fakes/shodan.js';

const fakes: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

const SHODAN_KEY = 'shodan-key-oversized-7f3a';

describe('vendor and sink answers larger than the response cap', () => {
  test('a Shodan answer declaring 17 MiB is refused, naming Shodan and the path but not the key', async () => {
    const fake = await startShodanFake({ keys: [SHODAN_KEY], rateLimit: { requests: 10, windowMs: 1000 } });
    fakes.push(fake);
    fake.script({ status: 200, body: { ip_str: '45.1.2.3', padding: 'x'.repeat(17 * 1024 * 1024) } });
    const config = configSchema.parse({
      enrichers: { shodan: { apiKey: SHODAN_KEY, baseUrl: fake.url, timeoutMs: 20_000 } },
    });
    const shodan = createEnricher('shodan', config, { http: createHttpClient() })!;
    const err = await failure(shodan.lookup({ type: 'ipv4', value: '45.1.2.3' }));
    expect(err).toBeInstanceOf(ResponseTooLargeError);
    expect(err.message).toContain('Shodan');
    expect(err.message).toContain('/shodan/host/45.1.2.3');
    expect(err.message).toContain(`more than ${MAX_RESPONSE_BYTES} bytes`);
    expect(err.message).not.toContain(SHODAN_KEY);
    expect(JSON.stringify(err)).not.toContain(SHODAN_KEY);
    expect((err as ResponseTooLargeError).retryable).toBe(false);
    // The key did travel (in the query, where Shodan wants it): the cap is what failed, not the auth.
    expect(fake.requests[0]!.query.get('key')).toBe(SHODAN_KEY);
  });

  test('an undeclared (chunked) 256 MiB answer from a sink is cut off once it passes the cap', async () => {
    let sent = 0;
    const fake = await startFakeServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      res.write('{"text":"Success","code":0,"pad":"');
      for (let i = 0; i < 1024 && !res.destroyed; i++) {
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r).once('close', r));
        sent += chunk.length;
      }
      res.end('"}');
    });
    fakes.push(fake);
    const err = await failure(
      requestJson(
        createHttpClient(),
        { service: 'Splunk HEC (sink splunk)', credentialKey: 'sinks.splunk.token' },
        `${fake.url}/services/collector/event?channel=abc`,
        { method: 'POST', body: '{}', headers: { authorization: 'Splunk hec-secret-token-91c2' } },
      ),
    );
    expect(err).toBeInstanceOf(ResponseTooLargeError);
    expect(err.message).toBe(
      `Splunk HEC (sink splunk) sent more than ${MAX_RESPONSE_BYTES} bytes for ${fake.url}/services/collector/event?…; the answer was not read`,
    );
    expect(err.message).not.toContain('hec-secret-token-91c2');
    // The client hung up: the fake never got to write the whole 256 MiB.
    await new Promise((r) => setTimeout(r, 200));
    expect(sent).toBeLessThan(64 * 1024 * 1024);
  });

  test('the cap is a bound, not a guess: an answer at the limit is read, one byte over is not', async () => {
    const body = (n: number) => JSON.stringify({ pad: 'y'.repeat(n - 10) });
    const fake = await startFakeServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body(Number(req.query.get('n'))));
    });
    fakes.push(fake);
    const call = (n: number) =>
      requestJson(createHttpClient(), { service: 'MISP (sink misp)' }, `${fake.url}/events`, {
        method: 'GET',
        searchParams: { n: String(n) },
        maxResponseBytes: 1000,
      });
    expect(body(1000)).toHaveLength(1000);
    expect(await call(1000)).toMatchObject({ status: 200, body: { pad: 'y'.repeat(990) } });
    const err = await failure(call(1001));
    expect(err).toBeInstanceOf(ResponseTooLargeError);
    expect(err.message).toContain('MISP (sink misp) sent more than 1000 bytes');
  });
});
