import { z } from 'zod';
import { allowlistsConfigSchema } from '../ioc/allowlist.js';
import { enrichersSchema } from './enrichers.js';
import { scoringSchema } from './scoring.js';
import { confidence, duration } from './primitives.js';

// The one description of config.yaml. Defaults live here and nowhere else; the README's configuration
// reference is generated from this schema.

export const TLP_LEVELS = ['clear', 'white', 'green', 'amber', 'amber+strict', 'red'] as const;

const sourceBase = {
  enabled: z.boolean().default(true).describe('Pull this source in each cycle.'),
  reliability: confidence
    .default(50)
    .describe(
      'How far the source is trusted (0–100); the scorer uses it when an entry has no confidence of its own.',
    ),
  tags: z.array(z.string()).default([]).describe('Tags added to every sighting from this source.'),
  tlp: z
    .enum(TLP_LEVELS)
    .optional()
    .describe('TLP tag (`tlp:<level>`) for entries that carry no TLP of their own.'),
  timeoutMs: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(30_000)
    .describe('HTTP: time to the response headers, and the longest silence while a body streams.'),
  pageSize: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(1000)
    .describe('Entries per stored page (and the `limit` sent to paged APIs).'),
  caFile: z
    .string()
    .min(1)
    .optional()
    .describe('PEM file of extra CA certificates to trust (on-premises servers); system CAs stay trusted.'),
};

const httpUrl = z.url({ protocol: /^https?$/ }).describe('http(s) URL');
const credential = z
  .string()
  .min(1)
  .describe('A credential: write it as ${ENV_NAME}, never literally; it is never logged.');
const since = duration
  .default('30d')
  .describe('How far back the first pull reaches; later pulls continue from the watermark.');

/** Sources that read one document from a local file or a URL: exactly one of the two. */
const fileOrUrl = {
  path: z.string().min(1).optional().describe('Local file.'),
  url: httpUrl.optional().describe('http(s) URL, fetched with If-None-Match / If-Modified-Since.'),
};
function exactlyOneLocation(value: { path?: string | undefined; url?: string | undefined }): boolean {
  return (value.path === undefined) !== (value.url === undefined);
}
const oneLocation = { message: 'set exactly one of path and url', path: ['path'] };

const plainSource = z
  .object({
    type: z.literal('plain'),
    ...fileOrUrl,
    ...sourceBase,
  })
  .strict()
  .refine(exactlyOneLocation, oneLocation)
  .describe('One indicator per line, `#` starts a comment.');

/** A CSV column: its header name, or its 0-based position. */
const column = z.union([z.string().min(1), z.number().int().min(0)]);

const csvSource = z
  .object({
    type: z.literal('csv'),
    ...fileOrUrl,
    delimiter: z.string().length(1).default(',').describe('Field separator.'),
    header: z
      .union([z.boolean(), z.literal('auto')])
      .default('auto')
      .describe(
        '`true`: the first row names the columns; `auto`: so does a last comment line before the data, or a first row whose value column is no indicator.',
      ),
    comment: z.string().min(1).default('#').describe('Lines starting with this are comments.'),
    columns: z
      .object({
        value: column.default(0).describe('Column with the indicator: header name or 0-based position.'),
        type: column.optional().describe('Column with the type name, mapped by the normaliser.'),
        tags: column.optional().describe('Column with tags, split at `tagSeparator`.'),
        ref: column.optional().describe('Column with a reference (URL or id) kept with the sighting.'),
        confidence: column.optional().describe('Column with a 0–100 confidence.'),
        firstSeen: column
          .optional()
          .describe(
            "Column with the date the feed first saw the indicator (ISO 8601, or `YYYY-MM-DD HH:MM:SS` in UTC), kept as the sighting's first seen.",
          ),
        lastSeen: column
          .optional()
          .describe(
            "Column with the date the feed last saw the indicator, same forms, kept as the sighting's last seen; without it, the pull's time.",
          ),
      })
      .strict()
      .prefault({}),
    fixedType: z.string().min(1).optional().describe('Type name for every value (instead of a type column).'),
    tagSeparator: z.string().min(1).default(',').describe('Separator inside the tags column.'),
    ...sourceBase,
  })
  .strict()
  .refine(exactlyOneLocation, oneLocation);

const mispSource = z
  .object({
    type: z.literal('misp'),
    url: httpUrl.describe('Base URL of the MISP instance.'),
    apiKey: credential,
    scope: z.enum(['attributes', 'events']).default('attributes').describe('Which restSearch endpoint.'),
    toIdsOnly: z.boolean().default(true).describe('Only attributes flagged for detection (`to_ids`).'),
    publishedOnly: z.boolean().default(false).describe('Only attributes of published events.'),
    filterTags: z.array(z.string()).optional().describe('MISP `tags` filter (`!tag` negates).'),
    since,
    ...sourceBase,
  })
  .strict();

const mispFeedSource = z
  .object({
    type: z.literal('misp-feed'),
    path: z.string().min(1).optional().describe('Local feed directory holding manifest.json.'),
    url: httpUrl.optional().describe('Feed base URL (manifest.json and <uuid>.json below it).'),
    toIdsOnly: z.boolean().default(true).describe('Only attributes flagged for detection (`to_ids`).'),
    ...sourceBase,
  })
  .strict()
  .refine(exactlyOneLocation, oneLocation);

const otxSource = z
  .object({
    type: z.literal('otx'),
    url: httpUrl.default('https://otx.alienvault.com').describe('OTX base URL.'),
    apiKey: credential,
    since,
    ...sourceBase,
  })
  .strict();

const abusechBase = {
  apiKey: credential
    .optional()
    .describe('abuse.ch Auth-Key; required by the APIs, sent to the bulk exports when set.'),
  ...sourceBase,
};

const urlhausSource = z
  .object({
    type: z.literal('urlhaus'),
    url: httpUrl
      .default('https://urlhaus.abuse.ch/downloads/csv_recent/')
      .describe('URLhaus CSV export (recent URLs).'),
    offline: z
      .enum(['skip', 'tag'])
      .default('skip')
      .describe('URLs already offline: counted as skipped, or kept with the tag `urlhaus:offline`.'),
    ...abusechBase,
  })
  .strict();

const threatfoxSource = z
  .object({
    type: z.literal('threatfox'),
    url: httpUrl.default('https://threatfox-api.abuse.ch/api/v1/').describe('ThreatFox API endpoint.'),
    apiKey: credential,
    minConfidence: confidence.default(0).describe('Skip IOCs whose `confidence_level` is lower.'),
    ...sourceBase,
  })
  .strict();

const feodoSource = z
  .object({
    type: z.literal('feodo'),
    url: httpUrl
      .default('https://feodotracker.abuse.ch/downloads/ipblocklist.json')
      .describe('Feodo Tracker JSON blocklist.'),
    ...abusechBase,
  })
  .strict();

const malwarebazaarSource = z
  .object({
    type: z.literal('malwarebazaar'),
    url: httpUrl
      .default('https://bazaar.abuse.ch/export/csv/recent/')
      .describe('MalwareBazaar CSV export (recent samples).'),
    ...abusechBase,
  })
  .strict();

const sslblSource = z
  .object({
    type: z.literal('sslbl'),
    url: httpUrl
      .default('https://sslbl.abuse.ch/blacklist/sslblacklist.csv')
      .describe('SSLBL certificate blocklist CSV.'),
    ...abusechBase,
  })
  .strict();

const stixSource = z
  .object({
    type: z.literal('stix'),
    ...fileOrUrl,
    ...sourceBase,
  })
  .strict()
  .refine(exactlyOneLocation, oneLocation);

const taxiiSource = z
  .object({
    type: z.literal('taxii'),
    url: httpUrl.describe('The API root, e.g. https://taxii.example.org/api1/'),
    collection: z.string().min(1).describe('Collection id.'),
    username: z.string().min(1).optional().describe('HTTP basic auth user (with password).'),
    password: credential.optional(),
    token: credential.optional().describe('Bearer token (instead of basic auth).'),
    since,
    ...sourceBase,
  })
  .strict()
  .refine((t) => !(t.token && (t.username || t.password)), {
    message: 'use either token or username/password',
    path: ['token'],
  })
  .refine((t) => (t.username === undefined) === (t.password === undefined), {
    message: 'username and password go together',
    path: ['password'],
  });

export const sourceSchema = z.discriminatedUnion('type', [
  plainSource,
  csvSource,
  mispSource,
  mispFeedSource,
  otxSource,
  urlhausSource,
  threatfoxSource,
  feodoSource,
  malwarebazaarSource,
  sslblSource,
  stixSource,
  taxiiSource,
]);

const threshold = confidence
  .optional()
  .describe('Deliver IOCs whose score is at least this; default: scoring.threshold.');

/** A client-side request budget: the sink spaces its calls so it never meets the service's 429. */
const rateLimit = z
  .object({
    requests: z.number().int().min(1).max(1_000_000).describe('Requests allowed per period.'),
    per: duration.describe('The period.'),
  })
  .strict();

/** Settings every HTTP sink shares. */
function httpSinkBase(defaults: {
  batchSize: number;
  maxBatchSize: number;
  rateLimit?: z.input<typeof rateLimit>;
}) {
  return {
    enabled: z.boolean().default(true).describe('Deliver to this sink in each cycle.'),
    threshold,
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(defaults.maxBatchSize)
      .default(defaults.batchSize)
      .describe('Outbox rows per delivery batch.'),
    rateLimit: defaults.rateLimit
      ? rateLimit.default({ ...defaults.rateLimit }).describe('Requests per period the sink paces itself to.')
      : rateLimit.optional().describe('Requests per period; unset: no client-side pacing.'),
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000).describe('Per HTTP request.'),
    caFile: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file of extra CA certificates to trust; TLS verification is never turned off.'),
  };
}

const fileSink = z
  .object({
    type: z.literal('file'),
    enabled: z.boolean().default(true).describe('Deliver to this sink in each cycle.'),
    path: z.string().min(1).describe('JSONL file the sink appends to.'),
    threshold,
    batchSize: z.number().int().min(1).max(10_000).default(500).describe('Outbox rows per appended batch.'),
  })
  .strict();

const splunkHecSink = z
  .object({
    type: z.literal('splunk-hec'),
    url: httpUrl.describe('HEC base URL, e.g. https://splunk.example.org:8088'),
    token: credential.describe('HEC token (sent as `Authorization: Splunk <token>`).'),
    index: z.string().min(1).optional().describe("Target index; default: the token's default index."),
    source: z.string().min(1).default('iocflow').describe('`source` of every event.'),
    sourcetype: z.string().min(1).default('ioc:enriched').describe('`sourcetype` of every event.'),
    host: z.string().min(1).optional().describe('`host` of every event; default: set by Splunk.'),
    maxRequestBytes: z
      .number()
      .int()
      .min(1024)
      .max(838_860_800)
      .default(900_000)
      .describe("Largest request body; below Splunk Cloud's 1 MB (Enterprise allows 800 MiB)."),
    ack: z
      .object({
        enabled: z.boolean().default(false).describe('Token has indexer acknowledgement (useACK) on.'),
        channel: z
          .uuid()
          .optional()
          .describe('X-Splunk-Request-Channel GUID; default: a stable UUID derived from the sink name.'),
        pollIntervalMs: z
          .number()
          .int()
          .min(10)
          .max(60_000)
          .default(1000)
          .describe('How often to ask for acknowledgements.'),
        timeoutMs: z
          .number()
          .int()
          .min(100)
          .max(600_000)
          .default(120_000)
          .describe('How long to wait for an ack before the batch counts as unanswered (retried).'),
      })
      .strict()
      .prefault({}),
    ...httpSinkBase({ batchSize: 500, maxBatchSize: 10_000 }),
  })
  .strict();

const sentinelSink = z
  .object({
    type: z.literal('sentinel'),
    tenantId: z.string().min(1).describe('Entra ID tenant (directory) id.'),
    clientId: z.string().min(1).describe('App registration (client) id.'),
    clientSecret: credential,
    workspaceId: z.string().min(1).describe('Log Analytics workspace GUID.'),
    authorityHost: httpUrl
      .default('https://login.microsoftonline.com')
      .describe('Entra ID authority (sovereign clouds have their own).'),
    tokenUrl: httpUrl
      .optional()
      .describe('Full token endpoint; default: <authorityHost>/<tenantId>/oauth2/v2.0/token.'),
    scope: z
      .string()
      .min(1)
      .default('https://management.azure.com/.default')
      .describe('OAuth scope of the client-credentials token.'),
    api: z
      .enum(['stix-objects', 'upload-indicators'])
      .default('stix-objects')
      .describe(
        '`stix-objects` (current upload API) or `upload-indicators` (legacy, api-version 2022-07-01).',
      ),
    apiBaseUrl: httpUrl
      .optional()
      .describe(
        'Default: https://api.ti.sentinel.azure.com (stix-objects), https://sentinelus.azure-api.net (legacy).',
      ),
    apiVersion: z
      .string()
      .min(1)
      .optional()
      .describe('Default: 2024-02-01-preview (stix-objects), 2022-07-01 (upload-indicators).'),
    sourceSystem: z
      .string()
      .min(1)
      .refine((s) => s !== 'Microsoft Sentinel', 'the value Microsoft Sentinel is reserved')
      .default('iocflow')
      .describe('Source system the indicators are filed under (not `Microsoft Sentinel`).'),
    withdraw: z
      .enum(['revoke', 'expire'])
      .default('revoke')
      .describe('Re-send the indicator with `revoked: true`, or with `valid_until` now.'),
    tlp: z.enum(TLP_LEVELS).optional().describe('TLP marking on every indicator.'),
    ...httpSinkBase({ batchSize: 100, maxBatchSize: 100, rateLimit: { requests: 100, per: '1m' } }),
  })
  .strict();

export const CROWDSTRIKE_CLOUDS = {
  'us-1': 'https://api.crowdstrike.com',
  'us-2': 'https://api.us-2.crowdstrike.com',
  'eu-1': 'https://api.eu-1.crowdstrike.com',
  'us-gov-1': 'https://api.laggar.gcw.crowdstrike.com',
  'us-gov-2': 'https://api.us-gov-2.crowdstrike.mil',
} as const;

const crowdstrikeSink = z
  .object({
    type: z.literal('crowdstrike'),
    cloud: z
      .enum(Object.keys(CROWDSTRIKE_CLOUDS) as [keyof typeof CROWDSTRIKE_CLOUDS])
      .default('us-1')
      .describe(
        'Falcon cloud region, which picks the API base URL. When the token answer names another cloud (X-Cs-Region), the IOC calls go there, with a warning.',
      ),
    baseUrl: httpUrl
      .optional()
      .describe('Explicit API base URL (overrides cloud, and is kept whatever the token answer names).'),
    clientId: z.string().min(1).describe('OAuth2 API client id.'),
    clientSecret: credential,
    memberCid: z.string().min(1).optional().describe('MSSP: the child CID to act in.'),
    platforms: z
      .array(z.enum(['windows', 'mac', 'linux']))
      .min(1)
      .default(['windows', 'mac', 'linux'])
      .describe('Platforms the indicators apply to.'),
    hostGroups: z
      .array(z.string().regex(/^[0-9a-f]{32}$/, '32-hex host group id'))
      .optional()
      .describe('Apply to these host groups; default: applied globally.'),
    source: z.string().min(1).max(256).default('iocflow').describe('`source` of every indicator.'),
    tags: z.array(z.string().min(1)).default([]).describe('Tags on every indicator.'),
    preventAt: confidence
      .optional()
      .describe('Hashes scoring at least this get action `prevent`; unset: always `detect`.'),
    withdraw: z
      .enum(['delete', 'expire'])
      .default('delete')
      .describe('Delete the indicator, or set its expiration to now (it stays listed as expired).'),
    retrodetects: z.boolean().default(false).describe('Ask Falcon to detect past matches too.'),
    ...httpSinkBase({ batchSize: 500, maxBatchSize: 2000, rateLimit: { requests: 6000, per: '1m' } }),
  })
  .strict();

const mispFeedbackSink = z
  .object({
    type: z.literal('misp-feedback'),
    url: httpUrl.describe('Base URL of the MISP instance.'),
    apiKey: credential.describe('Auth key of a user allowed to add sightings, tags and objects.'),
    sources: z
      .array(z.string().min(1))
      .min(1)
      .describe('The `misp` sources whose sightings (their events) get the feedback.'),
    mode: z
      .enum(['tags', 'object'])
      .default('tags')
      .describe(
        'How score and verdicts go back: `tags` on the attribute, or `object`: one `iocflow-enrichment` object beside it in the event, updated in place.',
      ),
    tagPrefix: z
      .string()
      .regex(/^[a-z0-9_-]+$/)
      .default('iocflow')
      .describe('Namespace of the tags.'),
    sightingSource: z.string().min(1).default('iocflow').describe('`source` of the sightings added.'),
    ...httpSinkBase({ batchSize: 100, maxBatchSize: 1000 }),
    threshold: confidence.default(0).describe('Feedback goes back for every enriched IOC by default.'),
  })
  .strict();

export const sinkSchema = z.discriminatedUnion('type', [
  fileSink,
  splunkHecSink,
  sentinelSink,
  crowdstrikeSink,
  mispFeedbackSink,
]);

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/** `0.0.0.0:9464`, `127.0.0.1:9464`, `[::]:9464`; port 0 picks a free port (tests). */
const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'host:port, e.g. 0.0.0.0:9464')
  .refine((a) => Number(a.slice(a.lastIndexOf(':') + 1)) <= 65535, 'port above 65535');

/** Names become parts of activity arguments and file names: keep them simple. */
const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - and _');

export const configSchema = z
  .object({
    temporal: z
      .object({
        address: z
          .string()
          .default('localhost:7233')
          .describe('Temporal frontend host:port; the TEMPORAL_ADDRESS environment variable overrides it.'),
        namespace: z.string().default('default').describe('Temporal namespace.'),
        taskQueue: z
          .string()
          .default('iocflow')
          .describe('Task queue of workflows and non-vendor activities.'),
        webUiUrl: z
          .string()
          .url()
          .default('http://localhost:8233')
          .describe('Base URL used in printed links.'),
        devServer: z
          .object({
            dbPath: z
              .string()
              .default('data/temporal.db')
              .describe(
                'SQLite file of the local dev server (state survives restarts). Paths are relative to the config file.',
              ),
            uiPort: z
              .number()
              .int()
              .min(1)
              .max(65535)
              .default(8233)
              .describe('Web UI port of the local dev server.'),
          })
          .strict()
          .prefault({})
          .describe('The local dev server `iocflow dev` starts when nothing answers at `address`.'),
        tls: z
          .union([
            z.boolean(),
            z
              .object({
                caFile: z
                  .string()
                  .min(1)
                  .optional()
                  .describe("PEM file of the CA that signed the server's certificate; default: system CAs."),
                certFile: z
                  .string()
                  .min(1)
                  .optional()
                  .describe('PEM client certificate (mTLS), with keyFile.'),
                keyFile: z.string().min(1).optional().describe('PEM private key of certFile.'),
                serverName: z
                  .string()
                  .min(1)
                  .optional()
                  .describe(
                    'Name to verify the server certificate against (SNI), when not the address host.',
                  ),
              })
              .strict()
              .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
                message: 'certFile and keyFile go together',
                path: ['keyFile'],
              }),
          ])
          .optional()
          .describe(
            '`true` for TLS with the system CAs, or files for a private CA and mTLS (relative to the config file). Verification is always on. Default: off, or on with apiKey.',
          ),
        apiKey: credential.optional().describe('Temporal Cloud API key, as ${ENV_NAME}; implies TLS.'),
        shutdownGraceTime: duration
          .default('30s')
          .describe(
            'On SIGTERM, how long in-flight activities get to finish before they are cancelled; keep it below the container stop timeout.',
          ),
      })
      .strict()
      .refine((t) => !(t.apiKey !== undefined && t.tls === false), {
        message: 'an API key is only sent over TLS: remove `tls: false`',
        path: ['tls'],
      })
      .prefault({})
      .describe(
        'Where the Temporal server is, how to reach it securely, and the local dev server `dev` starts when none answers.',
      ),
    logging: z
      .object({
        level: z
          .enum(LOG_LEVELS)
          .default('info')
          .describe('JSON log lines on stderr at this level and above; IOCFLOW_LOG_LEVEL overrides it.'),
        sdkLevel: z
          .enum(LOG_LEVELS)
          .default('warn')
          .describe(
            "The Temporal SDK's own messages (worker lifecycle, bundler, core): at info the bundler alone logs a screenful per start.",
          ),
      })
      .strict()
      .prefault({})
      .describe('Structured JSON logs (pino) of the worker, its activities and workflows.'),
    metrics: z
      .object({
        listen: listenAddress
          .optional()
          .describe('host:port serving the pipeline metrics (iocflow_*) at /metrics; unset: off.'),
        temporalListen: listenAddress
          .optional()
          .describe(
            'host:port where the Temporal SDK serves its own worker metrics (temporal_*) at /metrics; unset: off.',
          ),
      })
      .strict()
      .refine((m) => m.listen === undefined || m.listen !== m.temporalListen, {
        message: 'listen and temporalListen need different ports',
        path: ['temporalListen'],
      })
      .prefault({})
      .describe('Prometheus endpoints of the worker: the pipeline metrics and the Temporal SDK metrics.'),
    store: z
      .object({
        path: z.string().default('data/iocflow.db').describe('SQLite file of the IOC store.'),
      })
      .strict()
      .prefault({})
      .describe('The SQLite store: IOCs, sightings, scores, vendor cache, outbox and deliveries.'),
    schedule: z
      .object({
        id: z
          .string()
          .default('iocflow-cycle')
          .describe('Schedule id; also the prefix of cycle workflow ids.'),
        every: duration.default('4h').describe('Interval between cycles.'),
        overlap: z
          .enum(['skip', 'buffer_one'])
          .default('skip')
          .describe('What a tick does while a cycle still runs.'),
        catchupWindow: duration
          .default('1h')
          .describe('How late a missed tick may still start after an outage; shorter than `every`.'),
      })
      .strict()
      .prefault({})
      .describe('The Temporal Schedule that starts a cycle every interval.'),
    cycle: z
      .object({
        maxConcurrentChildren: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .default(200)
          .describe('EnrichIoc children one cycle keeps running at once (server hard limit: 2000).'),
      })
      .strict()
      .prefault({})
      .describe('How one ingest cycle fans out.'),
    scoring: scoringSchema
      .prefault({})
      .describe(
        'The score model: weights, evidence floors, clean verdicts, lifetimes and decay (docs/scoring.md).',
      ),
    allowlists: allowlistsConfigSchema
      .prefault({})
      .describe(
        'Indicators that must never be delivered: built-in reserved ranges, public resolvers, special-use domains, and MISP warninglists or plain lists of your own.',
      ),
    enrichers: enrichersSchema.prefault({}),
    sources: z
      .record(name, sourceSchema)
      .default({})
      .describe('Feeds to pull each cycle, by name (docs/sources.md).'),
    sinks: z
      .record(name, sinkSchema)
      .default({})
      .describe('Where scored IOCs are delivered, by name (docs/sinks.md).'),
  })
  .strict()
  .superRefine((config, ctx) => {
    for (const [sinkName, sink] of Object.entries(config.sinks)) {
      if (sink.type !== 'misp-feedback') continue;
      sink.sources.forEach((source, i) => {
        if (config.sources[source]?.type !== 'misp') {
          ctx.addIssue({
            code: 'custom',
            path: ['sinks', sinkName, 'sources', i],
            message: `'${source}' is not a configured misp source`,
          });
        }
      });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type SourceType = SourceConfig['type'];
/** The config of one source type. */
export type SourceConfigOf<T extends SourceType> = Extract<SourceConfig, { type: T }>;
export type SinkConfig = z.infer<typeof sinkSchema>;
