import { z } from 'zod';
import type { VendorConfig } from '../config/enrichers.js';
import { RequestRejectedError } from '../http/failures.js';
import { getJson } from '../http/request.js';
import type { Indicator } from '../ioc/index.js';
import { parseVendorResponse } from './parse.js';
import type { Enricher, EnricherDeps, Lookup, ShodanVerdict } from './types.js';

const text = z.string().nullish();

const hostSchema = z.looseObject({
  ip_str: z.string(),
  ports: z.array(z.number().int()).default([]),
  org: text,
  isp: text,
  asn: text,
  country_code: text,
  hostnames: z.array(z.string()).default([]),
  tags: z.array(z.string()).default([]),
  // The top level lists CVE ids; banners key them by CVE. Only the top level is read.
  vulns: z.array(z.string()).default([]),
  last_update: text,
});

export function shodanEnricher(config: VendorConfig, deps: EnricherDeps): Enricher<ShodanVerdict> {
  const site = { service: 'Shodan', credentialKey: 'enrichers.shodan.apiKey' };
  return {
    vendor: 'shodan',
    async lookup(
      indicator: Indicator,
      signal?: AbortSignal,
      onSent?: () => void,
    ): Promise<Lookup<ShodanVerdict>> {
      // Shodan takes its key only as a query parameter; messages strip queries, so it never leaks there.
      const response = await getJson(
        deps.http,
        site,
        `${config.baseUrl}/shodan/host/${encodeURIComponent(indicator.value)}`,
        {
          searchParams: { key: config.apiKey, minify: 'true' },
          signal,
          onSent,
          timeoutMs: config.timeoutMs,
          accept: [404],
        },
      );
      if (response.status === 404) return { outcome: 'not_found' };
      const error = (response.body as { error?: unknown } | null)?.error;
      if (typeof error === 'string') {
        // The SDK treats any body with `error` as an error, even with 200.
        throw new RequestRejectedError(
          `Shodan answered with an error: ${error.slice(0, 200)}`,
          response.status,
        );
      }
      const host = parseVendorResponse('Shodan', hostSchema, response.body, response.status);
      return {
        outcome: 'ok',
        verdict: {
          vendor: 'shodan',
          ports: [...host.ports].sort((a, b) => a - b),
          ...(host.org ? { org: host.org } : {}),
          ...(host.isp ? { isp: host.isp } : {}),
          ...(host.asn ? { asn: host.asn } : {}),
          ...(host.country_code ? { country: host.country_code } : {}),
          hostnames: host.hostnames,
          tags: host.tags,
          vulns: host.vulns,
          ...(host.last_update ? { lastUpdate: host.last_update } : {}),
        },
      };
    },
  };
}
