import type { ServerResponse } from 'node:http';

/** Switchable faults every source fake understands; set them on the fake's `faults` object between calls. */
export interface Faults {
  /** Answer every request with this status (and a vendor-shaped error body where the fake has one). */
  status?: number | undefined;
  /** Wait this long before answering. */
  delayMs?: number | undefined;
  /** Serve an HTML error page with status 200 instead of the real body. */
  html?: boolean | undefined;
  /** Send half the body, then cut the connection. */
  truncate?: boolean | undefined;
}

export const HTML_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>Back soon</body></html>\n';

/** Applies the delay and the faults that replace the answer; returns true when the request is answered. */
export async function applyFaults(
  faults: Faults,
  res: ServerResponse,
  errorBody?: (status: number) => string,
): Promise<boolean> {
  if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));
  if (faults.status) {
    res.writeHead(faults.status, { 'content-type': errorBody ? 'application/json' : 'text/plain' });
    res.end(errorBody ? errorBody(faults.status) : `error ${faults.status}`);
    return true;
  }
  if (faults.html) {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(HTML_PAGE);
    return true;
  }
  return false;
}

/** Sends a body, or half of it and a reset connection when `truncate` is on. */
export function sendBody(
  res: ServerResponse,
  faults: Faults,
  status: number,
  body: string,
  headers: Record<string, string>,
): void {
  const bytes = Buffer.from(body, 'utf8');
  if (faults.truncate) {
    res.writeHead(status, { ...headers, 'content-length': String(bytes.length) });
    res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
    setTimeout(() => res.destroy(), 10);
    return;
  }
  res.writeHead(status, { ...headers, 'content-length': String(bytes.length) });
  res.end(bytes);
}
