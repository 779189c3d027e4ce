import { createHash } from 'node:crypto';
import { startFakeServer, type FakeServer } from './server.js';
import { applyFaults, sendBody, type Faults } from './faults.js';

/**
 * A static file server as the bulk exports behave (abuse.ch, plain/CSV/STIX feeds over HTTP): ETag and
 * Last-Modified on every file, 304 for a matching If-None-Match or If-Modified-Since, an optional header
 * the requests must carry (`auth-key` for abuse.ch APIs), and the shared faults.
 */
export interface FileFake extends FakeServer {
  files: Map<string, { body: string; modified: Date; contentType: string }>;
  faults: Faults;
  /** Replace a file's content (new ETag, later Last-Modified). */
  put(path: string, body: string, contentType?: string): void;
}

export async function startFileFake(
  options: { requireHeader?: { name: string; value: string; status: number; body: string } } = {},
): Promise<FileFake> {
  const files: FileFake['files'] = new Map();
  const faults: Faults = {};
  const server = await startFakeServer(async (req, res) => {
    if (await applyFaults(faults, res)) return;
    const need = options.requireHeader;
    if (need && req.headers[need.name] !== need.value) {
      res.writeHead(need.status, { 'content-type': 'application/json' });
      res.end(need.body);
      return;
    }
    const file = files.get(req.path);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not Found');
      return;
    }
    const etag = `"${createHash('sha1').update(file.body).digest('hex').slice(0, 16)}"`;
    const lastModified = file.modified.toUTCString();
    const ims = req.headers['if-modified-since'];
    if (
      req.headers['if-none-match'] === etag ||
      (req.headers['if-none-match'] === undefined &&
        ims &&
        Date.parse(ims) >= Math.floor(file.modified.getTime() / 1000) * 1000)
    ) {
      res.writeHead(304, { etag, 'last-modified': lastModified });
      res.end();
      return;
    }
    sendBody(res, faults, 200, file.body, {
      'content-type': file.contentType,
      etag,
      'last-modified': lastModified,
    });
  });
  let clock = Date.UTC(2026, 0, 1);
  return {
    ...server,
    files,
    faults,
    put(path, body, contentType = 'text/plain') {
      clock += 60_000;
      files.set(path, { body, modified: new Date(clock), contentType });
    },
  };
}
