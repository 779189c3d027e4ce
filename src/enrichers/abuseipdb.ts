import { z } from 'zod';
import type { EnrichersConfig } from '../config/enrichers.js';
import { getJson } from '../http/request.js';
import type { Indicator } from '../ioc/index.js';
import { parseVendorResponse } from './parse.js';
import type { AbuseIpdbVerdict, Enricher, EnricherDeps, Lookup } from './types.js';

const text = z.string().nullish();

const checkSchema = z.looseObject({
  data: z.looseObject({
    ipAddress: z.string(),
    abuseConfidenceScore: z.number().int().min(0).max(100),
    totalReports: z.number().int().nonnegative(),
    numDistinctUsers: z.number().int().nonnegative(),
    lastReportedAt: text,
    usageType: text,
    isp: text,
    countryCode: text,
    isWhitelisted: z.boolean().nullable().default(null),
    isTor: z.boolean().default(false),
  }),
});

type AbuseIpdbConfig = NonNullable<EnrichersConfig['abuseipdb']>;

export function abuseIpdbEnricher(config: AbuseIpdbConfig, deps: EnricherDeps): Enricher<AbuseIpdbVerdict> {
  const site = { service: 'AbuseIPDB', credentialKey: 'enrichers.abuseipdb.apiKey' };
  return {
    vendor: 'abuseipdb',
    async lookup(
      indicator: Indicator,
      signal?: AbortSignal,
      onSent?: () => void,
    ): Promise<Lookup<AbuseIpdbVerdict>> {
      // An IP nobody reported is a 200 with score 0, not a 404: AbuseIPDB always "knows" an address.
      const response = await getJson(deps.http, site, `${config.baseUrl}/check`, {
        // Without Accept: application/json, errors come back as an HTML page.
        headers: { key: config.apiKey, accept: 'application/json' },
        searchParams: { ipAddress: indicator.value, maxAgeInDays: String(config.maxAgeInDays) },
        signal,
        onSent,
        timeoutMs: config.timeoutMs,
      });
      const { data } = parseVendorResponse('AbuseIPDB', checkSchema, response.body, response.status);
      return {
        outcome: 'ok',
        verdict: {
          vendor: 'abuseipdb',
          abuseConfidenceScore: data.abuseConfidenceScore,
          totalReports: data.totalReports,
          distinctReporters: data.numDistinctUsers,
          ...(data.lastReportedAt ? { lastReportedAt: data.lastReportedAt } : {}),
          ...(data.usageType ? { usageType: data.usageType } : {}),
          ...(data.isp ? { isp: data.isp } : {}),
          ...(data.countryCode ? { countryCode: data.countryCode } : {}),
          isWhitelisted: data.isWhitelisted,
          isTor: data.isTor,
        },
      };
    },
  };
}
