import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../project-root.js';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';

/** The bundled example: sample feeds, no vendors, a file sink. Used when no config is given or found. */
export const EXAMPLE_CONFIG_PATH = join(PROJECT_ROOT, 'examples', 'config.yaml');

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is not a valid iocflow configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file the config came from. */
  file: string;
  /** Every value that came from an environment variable: kept out of logs and errors. */
  secrets: string[];
}

/**
 * Picks the config file: an explicit path, then IOCFLOW_CONFIG, then ./config.yaml, then the bundled example.
 */
export function resolveConfigPath(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): string {
  if (explicit) return resolve(cwd, explicit);
  if (env.IOCFLOW_CONFIG) return resolve(cwd, env.IOCFLOW_CONFIG);
  const local = resolve(cwd, 'config.yaml');
  return existsSync(local) ? local : EXAMPLE_CONFIG_PATH;
}

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [
      `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    ]);
  }
  return parseConfig(text, file, env);
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw new ConfigError(file, [
      `not valid YAML${where}: ${err instanceof Error ? err.message.split('\n')[0] : ''}`,
    ]);
  }
  const secrets: string[] = [];
  const problems: string[] = [];
  const interpolated = interpolateEnv(raw, [], env, secrets, problems);
  if (problems.length > 0) throw new ConfigError(file, problems);

  const parsed = configSchema.safeParse(interpolated);
  if (!parsed.success) throw new ConfigError(file, parsed.error.issues.map(describeIssue));
  const config = parsed.data;
  if (env.TEMPORAL_ADDRESS) config.temporal.address = env.TEMPORAL_ADDRESS;
  resolvePaths(config, dirname(file));
  return { config, file, secrets };
}

/** `${NAME}` and `${NAME:-fallback}` in any string value; a missing variable names the key that needs it. */
function interpolateEnv(
  value: unknown,
  path: (string | number)[],
  env: NodeJS.ProcessEnv,
  secrets: string[],
  problems: string[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_m, name: string, fallback?: string) => {
        const found = env[name];
        if (found !== undefined && found !== '') {
          secrets.push(found);
          return found;
        }
        if (fallback !== undefined) return fallback;
        problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
        return '';
      },
    );
  }
  if (Array.isArray(value))
    return value.map((v, i) => interpolateEnv(v, [...path, i], env, secrets, problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, [...path, k], env, secrets, problems)]),
    );
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  const at = where || '(top level)';
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${at}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    case 'invalid_key':
      return `${at}: not a valid name (${issue.issues.map((i) => i.message).join('; ')})`;
    case 'invalid_type':
      if (issue.input === undefined) return `${at}: required (${issue.expected})`;
      return `${at}: expected ${issue.expected}`;
    default:
      return `${at}: ${issue.message}`;
  }
}

function formatPath(path: readonly (string | number | symbol)[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
}

/** File paths in the config are relative to the config file, so a config works from any directory. */
/**
 * The files an enabled part of the config reads that are not there, one problem each naming its key: what
 * `config check` can tell before a cycle fails on it three attempts later.
 */
export function missingFiles(config: Config): string[] {
  const problems: string[] = [];
  const check = (key: string, path: string | undefined) => {
    if (path !== undefined && !existsSync(path)) problems.push(`${key}: no such file: ${path}`);
  };
  const tls = config.temporal.tls;
  if (typeof tls === 'object')
    for (const k of ['caFile', 'certFile', 'keyFile'] as const) check(`temporal.tls.${k}`, tls[k]);
  for (const [name, source] of Object.entries(config.sources)) {
    if (!source.enabled) continue;
    if ('path' in source) check(`sources.${name}.path`, source.path);
    check(`sources.${name}.caFile`, source.caFile);
  }
  for (const [name, sink] of Object.entries(config.sinks))
    if (sink.enabled && sink.type !== 'file') check(`sinks.${name}.caFile`, sink.caFile);
  return problems;
}

function resolvePaths(config: Config, baseDir: string): void {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  config.store.path = abs(config.store.path);
  config.temporal.devServer.dbPath = abs(config.temporal.devServer.dbPath);
  const tls = config.temporal.tls;
  if (typeof tls === 'object') {
    for (const k of ['caFile', 'certFile', 'keyFile'] as const)
      if (tls[k] !== undefined) tls[k] = abs(tls[k]);
  }
  for (const source of Object.values(config.sources)) {
    if ('path' in source && source.path !== undefined) source.path = abs(source.path);
    if (source.caFile !== undefined) source.caFile = abs(source.caFile);
  }
  for (const sink of Object.values(config.sinks)) {
    if (sink.type === 'file') sink.path = abs(sink.path);
    else if (sink.caFile !== undefined) sink.caFile = abs(sink.caFile);
  }
}
