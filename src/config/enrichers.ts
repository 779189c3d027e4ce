import { z } from 'zod';
import { duration, secret } from './primitives.js';

// The `enrichers` section: one entry per vendor. Defaults are each vendor's published public tier
// (../shared/docs/vendor-apis.md); vendors change limits without notice, so every number is a setting.

const rateLimit = z
  .object({
    requests: z.number().positive().describe('Calls allowed per period.'),
    per: duration.describe('The period.'),
  })
  .strict()
  .describe('Calls allowed per interval, enforced across all workers by the vendor task queue.');

/** Cache lifetimes per IOC type: an IP's reputation changes faster than a file hash's. */
const ttl = (defaults: { ip: string; domain: string; url: string; hash: string }) =>
  z
    .object({
      ipv4: duration.default(defaults.ip),
      ipv6: duration.default(defaults.ip),
      domain: duration.default(defaults.domain),
      url: duration.default(defaults.url),
      md5: duration.default(defaults.hash),
      sha1: duration.default(defaults.hash),
      sha256: duration.default(defaults.hash),
    })
    .strict()
    .prefault({})
    .describe('How long a result is reused before the IOC is looked up again, per IOC type.');

const vendorBase = (defaults: {
  baseUrl: string;
  rate: { requests: number; per: string };
  dailyBudget: number;
  ttl: { ip: string; domain: string; url: string; hash: string };
}) => ({
  enabled: z.boolean().default(true).describe('Call this vendor (its worker polls only when enabled).'),
  apiKey: secret.describe('API key: write it as ${ENV_NAME}, never literally; it is never logged.'),
  baseUrl: z
    .string()
    .url()
    .default(defaults.baseUrl)
    .describe('API base URL (a proxy or test double works too).'),
  timeoutMs: z.number().int().min(100).max(120_000).default(20_000).describe('Per HTTP request.'),
  rateLimit: rateLimit.default(defaults.rate),
  dailyBudget: z
    .number()
    .int()
    .min(0)
    .default(defaults.dailyBudget)
    .describe('Calls per UTC day; when spent, IOCs are scored without this vendor and retried next cycle.'),
  ttl: ttl(defaults.ttl),
});

export const enrichersSchema = z
  .object({
    virustotal: z
      .object(
        vendorBase({
          baseUrl: 'https://www.virustotal.com/api/v3',
          rate: { requests: 4, per: '1m' },
          dailyBudget: 500,
          ttl: { ip: '1d', domain: '3d', url: '3d', hash: '30d' },
        }),
      )
      .strict()
      .optional(),
    shodan: z
      .object(
        vendorBase({
          baseUrl: 'https://api.shodan.io',
          rate: { requests: 1, per: '1s' },
          // Host lookups cost no query credit; the budget only guards against runaway use.
          dailyBudget: 10_000,
          ttl: { ip: '3d', domain: '3d', url: '3d', hash: '3d' },
        }),
      )
      .strict()
      .optional(),
    abuseipdb: z
      .object({
        ...vendorBase({
          baseUrl: 'https://api.abuseipdb.com/api/v2',
          rate: { requests: 1, per: '1s' },
          dailyBudget: 1000,
          ttl: { ip: '1d', domain: '1d', url: '1d', hash: '1d' },
        }),
        maxAgeInDays: z
          .number()
          .int()
          .min(1)
          .max(365)
          .default(90)
          .describe('Window of reports AbuseIPDB considers.'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .describe('Vendors that enrich IOCs; a vendor is used when its section is present and enabled.');

export type EnrichersConfig = z.infer<typeof enrichersSchema>;
export type VendorName = keyof EnrichersConfig;
export type VendorConfig = NonNullable<EnrichersConfig[VendorName]>;
export const VENDORS = ['virustotal', 'shodan', 'abuseipdb'] as const satisfies readonly VendorName[];
