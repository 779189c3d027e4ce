import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configSchema } from '../../src/config/index.js';
import { UnavailableError } from '../../src/http/failures.js';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { createSink } from '../../src/sinks/index.js';
import type { Store } from '../../src/store/index.js';
import { startSplunkHecFake, type HecFake } from '../fakes/splunk-hec.js';
import { tempStore } from '../support/store.js';
import { drain, http, ipv4s, queue } from './support.js';

// TLS with a private CA, as an on-premises Splunk has it: a CA made for this run signs a certificate for
// 127.0.0.1, and a TLS front with that certificate forwards to the HEC fake. Verification stays on
// throughout; `caFile` only adds the CA to the ones trusted.

/** A CA and, when `issuer` is given, a server certificate for 127.0.0.1 signed by it (EC P-256, one day). */
function makeCert(dir: string, name: string, issuer?: string): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  if (!issuer) {
    openssl(
      'req',
      '-x509',
      ...key,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      '-subj',
      `/CN=iocflow test ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
    return;
  }
  writeFileSync(
    join(dir, `${name}.ext`),
    'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  openssl('req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=127.0.0.1');
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${issuer}.pem`,
    '-CAkey',
    `${issuer}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
  );
}

/** A TLS listener on loopback that hands every connection, decrypted, to `port`. */
async function tlsFront(port: number, key: Buffer, cert: Buffer): Promise<{ server: Server; url: string }> {
  const server = createServer({ key, cert }, (socket) => {
    const upstream = connect(port, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('TLS with a custom CA bundle', () => {
  let dir: string;
  let hec: HecFake;
  let front: { server: Server; url: string };
  let store: Store & { dir: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iocflow-tls-'));
    makeCert(dir, 'ca');
    makeCert(dir, 'other-ca');
    makeCert(dir, 'server', 'ca');
    hec = await startSplunkHecFake({ tokens: { 'hec-token': { indexes: ['threat_intel'] } } });
    front = await tlsFront(
      Number(new URL(hec.url).port),
      readFileSync(join(dir, 'server.key')),
      readFileSync(join(dir, 'server.pem')),
    );
    store = tempStore();
    queue(store, ipv4s(5), 'splunk');
  });

  afterAll(async () => {
    store?.close();
    await new Promise<void>((resolve) => (front ? front.server.close(() => resolve()) : resolve()));
    await hec?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function splunk(caFile?: string) {
    const config = configSchema.parse({
      sinks: {
        splunk: {
          type: 'splunk-hec',
          url: front.url,
          token: 'hec-token',
          index: 'threat_intel',
          ...(caFile ? { caFile } : {}),
        },
      },
    });
    return createSink('splunk', config.sinks.splunk!, { http });
  }

  test('without caFile the private certificate is refused, with an error naming the sink and the fix', async () => {
    const err = await drain(splunk(), store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toBe(
      'Splunk HEC (sink splunk): TLS certificate not signed by a trusted CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE); if its CA is private, trust it with a PEM bundle (config: sinks.splunk.caFile)',
    );
    expect(hec.events).toHaveLength(0);
  });

  test('a caFile with another CA does not make it trusted: verification stays on', async () => {
    const err = await drain(splunk(join(dir, 'other-ca.pem')), store).catch((e: unknown) => e);
    expect((err as Error).message).toContain('(sink splunk): TLS certificate not signed by a trusted CA');
    expect(hec.events).toHaveLength(0);
  });

  test('with caFile pointing at the CA, delivery succeeds over TLS', async () => {
    expect(await drain(splunk(join(dir, 'ca.pem')), store)).toMatchObject({ delivered: 5, pending: 0 });
    expect(hec.events).toHaveLength(5);
  });

  test('nothing in src/ or activities/ turns TLS verification off', () => {
    const offenders: string[] = [];
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const path = join(d, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.(ts|js)$/.test(name)) {
          const text = readFileSync(path, 'utf8');
          if (/rejectUnauthorized\s*:\s*false|NODE_TLS_REJECT_UNAUTHORIZED/.test(text)) offenders.push(path);
        }
      }
    };
    for (const top of ['src', 'activities', 'workflows']) walk(join(PROJECT_ROOT, top));
    expect(offenders).toEqual([]);
  });
});
