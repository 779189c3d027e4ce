// The configuration reference, generated from the zod schema (src/config/schema.ts) through its JSON
// Schema, so the documented keys, types and defaults cannot drift from what the loader accepts.
// `npm run docs:config` writes it; test/docs/config-reference.test.ts fails when the committed copies
// are stale. Refinements (exactly one of path/url, …) do not survive the conversion: the prose around
// each table, and the schema's own descriptions, say them.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { z } from 'zod';
import { configSchema } from '../src/config/schema.js';
import { PROJECT_ROOT } from '../src/project-root.js';

export const CONFIG_DOC_PATH = join(PROJECT_ROOT, 'docs', 'configuration.md');
export const README_PATH = join(PROJECT_ROOT, 'README.md');
export const README_START = '<!-- config-reference:start -->';
export const README_END = '<!-- config-reference:end -->';

/** The part of JSON Schema that z.toJSONSchema emits for this config. */
interface JsonSchema {
  type?: string;
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

const DURATION_PATTERN = String.raw`^\d+(ms|s|m|h|d)$`;
/** Descriptions that only restate a type (they are inherited from shared building blocks). */
const TYPE_ONLY_DESCRIPTIONS = new Set(['duration', 'http(s) URL']);

/** The schema as the user writes it (input side: defaults are optional). */
export function configJsonSchema(): JsonSchema {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

function typeOf(schema: JsonSchema): string {
  if (schema.const !== undefined) return `\`${JSON.stringify(schema.const)}\``;
  if (schema.enum) return schema.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return union.map(typeOf).join(' or ');
  switch (schema.type) {
    case 'string':
      if (schema.pattern === DURATION_PATTERN) return 'duration';
      if (schema.format === 'uri') return 'URL';
      if (schema.format === 'uuid') return 'UUID';
      if (schema.minLength !== undefined && schema.minLength === schema.maxLength)
        return `string (${schema.minLength} char)`;
      return 'string';
    case 'integer':
    case 'number':
      return `${schema.type}${range(schema)}`;
    case 'array':
      return `list of ${schema.items ? typeOf(schema.items) : 'values'}${schema.minItems ? ` (≥ ${schema.minItems})` : ''}`;
    case 'object':
      return schema.properties ? 'object' : 'map';
    default:
      return schema.type ?? 'any';
  }
}

function range(schema: JsonSchema): string {
  const max =
    schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER ? schema.maximum : undefined;
  const min = schema.minimum;
  if (min !== undefined && max !== undefined) return ` ${min}–${max}`;
  if (min !== undefined) return ` ≥ ${min}`;
  if (schema.exclusiveMinimum !== undefined) return ` > ${schema.exclusiveMinimum}`;
  if (max !== undefined) return ` ≤ ${max}`;
  return '';
}

function defaultOf(schema: JsonSchema, required: boolean): string {
  if (schema.default !== undefined) {
    const isEmptyObject =
      typeof schema.default === 'object' &&
      schema.default !== null &&
      !Array.isArray(schema.default) &&
      Object.keys(schema.default).length === 0;
    // A section's `{}` default just means "its keys' defaults": those are listed row by row.
    return isEmptyObject ? '' : `\`${JSON.stringify(schema.default)}\``;
  }
  return required ? '**required**' : '';
}

function describe(schema: JsonSchema): string {
  const text = schema.description ?? '';
  return TYPE_ONLY_DESCRIPTIONS.has(text) ? '' : text;
}

/** One row per key, nested objects flattened into dotted keys, list items as `key[].field`. */
function rowsOf(schema: JsonSchema, prefix = ''): Row[] {
  const rows: Row[] = [];
  const required = new Set(schema.required ?? []);
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    const key = `${prefix}${name}`;
    const itemFields = child.type === 'array' ? child.items?.properties : undefined;
    const fields = child.properties ?? itemFields;
    const row: Row = {
      key,
      type: fields ? (itemFields ? 'list of objects' : 'object') : typeOf(child),
      default: defaultOf(child, required.has(name)),
      description: describe(child),
    };
    // An object row says something of its own only when it has a description or a non-empty default.
    if (!fields || row.description || row.default) rows.push(row);
    if (child.properties) rows.push(...rowsOf(child, `${key}.`));
    else if (itemFields && child.items) rows.push(...rowsOf(child.items, `${key}[].`));
  }
  return rows;
}

function table(rows: Row[]): string {
  const cell = (text: string) =>
    text
      .replace(/\n/g, ' ')
      .replace(/\|/g, (m, offset: number, all: string) => (all[offset - 1] === '\\' ? m : '\\|'));
  return [
    '| key | type | default | description |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| \`${r.key}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`),
  ].join('\n');
}

/** Variants of a discriminated union by their `type`, and the keys identical in all of them. */
function variants(section: JsonSchema): { byType: [string, JsonSchema][]; shared: Set<string> } {
  const record = section.additionalProperties;
  const union = typeof record === 'object' ? (record.oneOf ?? record.anyOf ?? []) : [];
  const byType = union.map((v): [string, JsonSchema] => [String(v.properties?.type?.const), v]);
  const [first, ...rest] = union;
  const shared = new Set(
    Object.keys(first?.properties ?? {}).filter(
      (key) =>
        key !== 'type' &&
        rest.every((v) => JSON.stringify(v.properties?.[key]) === JSON.stringify(first?.properties?.[key])),
    ),
  );
  return { byType, shared };
}

function only(schema: JsonSchema, keep: (key: string) => boolean): JsonSchema {
  return {
    ...schema,
    properties: Object.fromEntries(Object.entries(schema.properties ?? {}).filter(([k]) => keep(k))),
  };
}

const INTRO = `# Configuration reference

<!-- Generated by \`npm run docs:config\` from src/config/schema.ts: edit the schema's .describe() texts, not this file. -->

One YAML file (\`config.yaml\` in the working directory, \`IOCFLOW_CONFIG\`, or \`--config FILE\`), validated
by the zod schema in \`src/config/schema.ts\`; \`iocflow config check\` validates it. Every key below is
optional unless its default says **required**. Credentials are written \`\${ENV_NAME}\` (or
\`\${ENV_NAME:-fallback}\`) and read from the environment; paths are relative to the config file. A
duration is a number and a unit: \`500ms\`, \`30s\`, \`15m\`, \`4h\`, \`7d\`.`;

/** docs/configuration.md, formatted as prettier would leave it. */
export async function renderConfigDoc(): Promise<string> {
  const root = configJsonSchema();
  const sections = root.properties ?? {};
  const parts: string[] = [INTRO];
  for (const [name, section] of Object.entries(sections)) {
    parts.push(`## ${name}`);
    if (section.description) parts.push(section.description);
    if (name === 'enrichers') {
      for (const [vendor, settings] of Object.entries(section.properties ?? {})) {
        parts.push(`### ${vendor}`, `Under \`enrichers.${vendor}\`.`, table(rowsOf(settings)));
      }
    } else if (name === 'sources' || name === 'sinks') {
      const noun = name === 'sources' ? 'source' : 'sink';
      const { byType, shared } = variants(section);
      parts.push(
        `A map from a name (lowercase letters, digits, \`-\` and \`_\`) to one ${noun}; \`type\` picks the ` +
          `${noun} type and with it the other keys (${byType.map(([t]) => `[\`${t}\`](#${t})`).join(', ')}).`,
      );
      if (shared.size > 0 && byType[0]) {
        parts.push(
          `### Every ${noun} type`,
          `Under \`${name}.<name>\`, for every type.`,
          table(rowsOf(only(byType[0][1], (k) => shared.has(k)))),
        );
      }
      for (const [type, variant] of byType) {
        const own = only(variant, (k) => k !== 'type' && !shared.has(k));
        parts.push(
          `### ${type}`,
          `\`type: ${type}\`.${variant.description ? ` ${variant.description}` : ''}`,
        );
        if (type === 'plain' || type === 'csv' || type === 'stix' || type === 'misp-feed')
          parts.push('Set exactly one of `path` and `url`.');
        parts.push(table(rowsOf(own)));
      }
    } else {
      parts.push(table(rowsOf(section)));
    }
  }
  return prettify(parts.join('\n\n') + '\n');
}

/** The block between the README markers: one row per top-level section. */
export async function renderReadmeBlock(): Promise<string> {
  const sections = configJsonSchema().properties ?? {};
  const body = [
    '| section | what it holds |',
    '| --- | --- |',
    ...Object.entries(sections).map(
      ([name, section]) =>
        `| [\`${name}\`](docs/configuration.md#${name}) | ${(section.description ?? '').replace(/\|/g, '\\|')} |`,
    ),
  ].join('\n');
  const generated = await prettify(body + '\n');
  return `${README_START}\n\n<!-- Generated by \`npm run docs:config\` from src/config/schema.ts. -->\n\n${generated}\n${README_END}`;
}

/** README.md with its generated block replaced; an Error when the markers are missing. */
export async function renderReadme(current = readFileSync(README_PATH, 'utf8')): Promise<string> {
  const start = current.indexOf(README_START);
  const end = current.indexOf(README_END);
  if (start < 0 || end < start) {
    throw new Error(`README.md lacks the markers ${README_START} … ${README_END}`);
  }
  return current.slice(0, start) + (await renderReadmeBlock()) + current.slice(end + README_END.length);
}

async function prettify(markdown: string): Promise<string> {
  const options = (await resolveConfig(CONFIG_DOC_PATH)) ?? {};
  return format(markdown, { ...options, parser: 'markdown' });
}
