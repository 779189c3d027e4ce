import { startFakeServer, sendJson, type FakeServer } from './server.js';
import { applyFaults, type Faults } from './faults.js';

// A TAXII 2.1 server with one API root (/api1/) and its collections: `GET collections/{id}/objects/` with
// `Accept: application/taxii+json;version=2.1` (406 otherwise), basic or bearer auth (401 with a TAXII error
// otherwise), `added_after` (strictly after), `limit`, an opaque `next` token with `more`, and
// `X-TAXII-Date-Added-First` / `-Last` headers.

export interface FakeTaxiiObject {
  dateAdded: string;
  object: Record<string, unknown>;
}

export interface TaxiiFake extends FakeServer {
  collections: Map<string, FakeTaxiiObject[]>;
  faults: Faults;
}

const TAXII = 'application/taxii+json;version=2.1';

export async function startTaxiiFake(options: {
  auth: { basic: { username: string; password: string } } | { token: string };
  collections: Record<string, FakeTaxiiObject[]>;
}): Promise<TaxiiFake> {
  const faults: Faults = {};
  const collections = new Map(Object.entries(options.collections));
  const expected =
    'token' in options.auth
      ? `Bearer ${options.auth.token}`
      : `Basic ${Buffer.from(`${options.auth.basic.username}:${options.auth.basic.password}`).toString('base64')}`;
  const error = (status: number, title: string) => ({ title, http_status: String(status) });
  const server = await startFakeServer(async (req, res) => {
    if (await applyFaults(faults, res, (s) => JSON.stringify(error(s, 'Error')))) return;
    if (req.headers.authorization !== expected) {
      return sendJson(res, 401, error(401, 'Unauthorized'), {
        'content-type': TAXII,
        'www-authenticate': 'Basic realm="taxii"',
      });
    }
    if (!String(req.headers.accept ?? '').includes('application/taxii+json')) {
      return sendJson(res, 406, error(406, 'Not Acceptable'), { 'content-type': TAXII });
    }
    const m = /^\/api1\/collections\/([^/]+)\/objects\/$/.exec(req.path);
    const objects = m ? collections.get(decodeURIComponent(m[1]!)) : undefined;
    if (!objects) return sendJson(res, 404, error(404, 'Collection not found'), { 'content-type': TAXII });
    const after = req.query.get('added_after');
    const limit = Number(req.query.get('limit') ?? 100);
    const offset = Number(req.query.get('next') ?? 0);
    const matching = objects
      .filter((o) => !after || Date.parse(o.dateAdded) > Date.parse(after))
      .sort((a, b) => Date.parse(a.dateAdded) - Date.parse(b.dateAdded));
    const page = matching.slice(offset, offset + limit);
    const more = offset + limit < matching.length;
    const headers: Record<string, string> = { 'content-type': TAXII };
    if (page.length > 0) {
      headers['x-taxii-date-added-first'] = page[0]!.dateAdded;
      headers['x-taxii-date-added-last'] = page.at(-1)!.dateAdded;
    }
    sendJson(
      res,
      200,
      { more, ...(more ? { next: String(offset + limit) } : {}), objects: page.map((o) => o.object) },
      headers,
    );
  });
  return { ...server, collections, faults };
}
