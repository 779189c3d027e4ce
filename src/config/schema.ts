import { z } from 'zod';
import { allowlistsConfigSchema } from '../ioc/allowlist.js';
import { enrichersSchema } from './enrichers.js';
import { confidence, duration } from './primitives.js';

// The one description of config.yaml. Defaults live here and nowhere else; the README's configuration
// reference is generated from this schema.

const sourceBase = {
  enabled: z.boolean().default(true).describe('Pull this source in each cycle.'),
  reliability: confidence
    .default(50)
    .describe(
      'How far the source is trusted (0–100); the scorer uses it when an entry has no confidence of its own.',
    ),
  tags: z.array(z.string()).default([]).describe('Tags added to every sighting from this source.'),
};

const plainSource = z
  .object({
    type: z.literal('plain'),
    path: z.string().min(1).describe('Local file, one indicator per line, `#` starts a comment.'),
    ...sourceBase,
  })
  .strict();

export const sourceSchema = z.discriminatedUnion('type', [plainSource]);

const fileSink = z
  .object({
    type: z.literal('file'),
    enabled: z.boolean().default(true),
    path: z.string().min(1).describe('JSONL file the sink appends to.'),
    threshold: confidence
      .optional()
      .describe('Deliver IOCs whose score is at least this; default: scoring.threshold.'),
    batchSize: z.number().int().min(1).max(10_000).default(500),
  })
  .strict();

export const sinkSchema = z.discriminatedUnion('type', [fileSink]);

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
        namespace: z.string().default('default'),
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
            uiPort: z.number().int().min(1).max(65535).default(8233),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    store: z
      .object({
        path: z.string().default('data/iocflow.db').describe('SQLite file of the IOC store.'),
      })
      .strict()
      .prefault({}),
    schedule: z
      .object({
        id: z.string().default('iocflow-cycle'),
        every: duration.default('4h'),
        overlap: z
          .enum(['skip', 'buffer_one'])
          .default('skip')
          .describe('What a tick does while a cycle still runs.'),
        catchupWindow: duration
          .default('1h')
          .describe('How late a missed tick may still start after an outage; shorter than `every`.'),
      })
      .strict()
      .prefault({}),
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
      .prefault({}),
    scoring: z
      .object({
        threshold: confidence.default(70).describe('Default delivery threshold for sinks that set none.'),
      })
      .strict()
      .prefault({}),
    allowlists: allowlistsConfigSchema
      .prefault({})
      .describe(
        'Indicators that must never be delivered: built-in reserved ranges, public resolvers, special-use domains, and MISP warninglists or plain lists of your own.',
      ),
    enrichers: enrichersSchema.prefault({}),
    sources: z.record(name, sourceSchema).default({}),
    sinks: z.record(name, sinkSchema).default({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type SinkConfig = z.infer<typeof sinkSchema>;
