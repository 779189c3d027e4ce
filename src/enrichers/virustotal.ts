import { z } from 'zod';
import type { VendorConfig } from '../config/enrichers.js';
import { getJson } from '../http/request.js';
import type { Indicator, IocType } from '../ioc/index.js';
import { parseVendorResponse } from './parse.js';
import type { Enricher, EnricherDeps, Lookup, VirusTotalVerdict } from './types.js';

const count = z.number().int().nonnegative();

/** Files add hyphenated keys (`type-unsupported`, `confirmed-timeout`); only these four are verdicts. */
const statsSchema = z.looseObject({
  malicious: count,
  suspicious: count,
  harmless: count,
  undetected: count,
});

const responseSchema = z.looseObject({
  data: z.looseObject({
    id: z.string(),
    type: z.enum(['file', 'domain', 'ip_address', 'url']),
    attributes: z.looseObject({
      last_analysis_stats: statsSchema,
      reputation: z.number().int().default(0),
      tags: z.array(z.string()).default([]),
      last_analysis_date: z.number().int().optional(),
      first_submission_date: z.number().int().optional(),
      popular_threat_classification: z
        .looseObject({ suggested_threat_label: z.string().optional() })
        .optional(),
    }),
  }),
});

const COLLECTION: Partial<Record<IocType, string>> = {
  md5: 'files',
  sha1: 'files',
  sha256: 'files',
  domain: 'domains',
  ipv4: 'ip_addresses',
  ipv6: 'ip_addresses',
  url: 'urls',
};

/** VirusTotal's URL identifier: unpadded URL-safe base64 of the URL (standard base64 breaks the path). */
export function virusTotalUrlId(url: string): string {
  return Buffer.from(url, 'utf8').toString('base64url');
}

export function virusTotalEnricher(config: VendorConfig, deps: EnricherDeps): Enricher<VirusTotalVerdict> {
  const site = { service: 'VirusTotal', credentialKey: 'enrichers.virustotal.apiKey' };
  return {
    vendor: 'virustotal',
    async lookup(
      indicator: Indicator,
      signal?: AbortSignal,
      onSent?: () => void,
    ): Promise<Lookup<VirusTotalVerdict>> {
      const collection = COLLECTION[indicator.type];
      if (!collection) throw new Error(`VirusTotal has no lookup for ${indicator.type}`);
      const id =
        indicator.type === 'url' ? virusTotalUrlId(indicator.value) : encodeURIComponent(indicator.value);
      const response = await getJson(deps.http, site, `${config.baseUrl}/${collection}/${id}`, {
        headers: { 'x-apikey': config.apiKey },
        signal,
        onSent,
        timeoutMs: config.timeoutMs,
        accept: [404],
      });
      if (response.status === 404) return { outcome: 'not_found' };
      const { attributes } = parseVendorResponse(
        'VirusTotal',
        responseSchema,
        response.body,
        response.status,
      ).data;
      const stats = attributes.last_analysis_stats;
      const label = attributes.popular_threat_classification?.suggested_threat_label;
      return {
        outcome: 'ok',
        verdict: {
          vendor: 'virustotal',
          malicious: stats.malicious,
          suspicious: stats.suspicious,
          harmless: stats.harmless,
          undetected: stats.undetected,
          engines: stats.malicious + stats.suspicious + stats.harmless + stats.undetected,
          reputation: attributes.reputation,
          tags: attributes.tags,
          ...(label ? { threatLabel: label } : {}),
          ...(attributes.last_analysis_date
            ? { lastAnalysisAt: isoFromEpoch(attributes.last_analysis_date) }
            : {}),
          ...(attributes.first_submission_date
            ? { firstSeenAt: isoFromEpoch(attributes.first_submission_date) }
            : {}),
        },
      };
    },
  };
}

function isoFromEpoch(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
