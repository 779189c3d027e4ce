import { hostname } from 'node:os';
import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config/index.js';
import { LOG_LEVELS } from '../config/index.js';

export type LogLevelName = (typeof LOG_LEVELS)[number];
export type { Logger };

/**
 * Keys whose values never reach a log line whatever they hold: credentials by name, request headers,
 * and whole config objects (which hold resolved `${ENV}` secrets). One level deep as well, since SDK and
 * HTTP errors nest them (`err.options.headers`). The scrubber below catches what no path names.
 */
export const REDACTED_KEYS = [
  'apiKey',
  'token',
  'password',
  'clientSecret',
  'secret',
  'authorization',
  'headers',
  'config',
  'taskToken',
] as const;

const REDACT_PATHS = [
  ...REDACTED_KEYS,
  ...REDACTED_KEYS.map((k) => `*.${k}`),
  ...REDACTED_KEYS.map((k) => `*.*.${k}`),
];

const CENSOR = '[REDACTED]';

/**
 * Env values shorter than this are not treated as secrets by the scrubber (a `${LOG_LEVEL}` of `info`
 * would otherwise blank every level); every credential iocflow talks to is far longer.
 */
export const MIN_SECRET_LENGTH = 8;

export interface LoggerOptions {
  level: LogLevelName;
  /** Every value the config took from the environment (LoadedConfig.secrets): blanked wherever they occur. */
  secrets?: readonly string[];
  /** Where JSON lines go. @default stderr (stdout carries command output such as `run-once`'s report) */
  destination?: DestinationStream;
}

/** The process's JSON logger: one line per event, secrets removed by key and by value. */
export function createLogger(options: LoggerOptions): Logger {
  const scrub = secretScrubber(options.secrets ?? []);
  return pino(
    {
      level: options.level,
      // Which worker wrote the line, when several run.
      base: { service: 'iocflow', hostname: hostname(), pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // The SDK logs failures under `error`, pino's convention is `err`: serialise both with stack and cause.
      serializers: { err: stdSerializers.err, error: stdSerializers.err },
      redact: {
        paths: REDACT_PATHS,
        // A task token lets anyone holding it complete the activity: dropped rather than censored.
        censor: (_value: unknown, path: string[]) => (path.at(-1) === 'taskToken' ? undefined : CENSOR),
      },
      hooks: { streamWrite: scrub },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** `logging.level`, unless IOCFLOW_LOG_LEVEL names a level. */
export function resolveLogLevel(
  logging: Pick<Config['logging'], 'level'>,
  env: NodeJS.ProcessEnv = process.env,
): LogLevelName {
  const wanted = env.IOCFLOW_LOG_LEVEL?.toLowerCase();
  return LOG_LEVELS.find((l) => l === wanted) ?? logging.level;
}

/**
 * The last line of defence, on the serialised line itself: every configured secret (raw and as JSON
 * escapes it), credentials in URL queries and userinfo, and Authorization-style header values.
 */
export function secretScrubber(secrets: readonly string[]): (line: string) => string {
  const needles = [
    ...new Set(
      secrets
        .filter((s) => s.length >= MIN_SECRET_LENGTH)
        .flatMap((s) => [s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)]),
    ),
  ].sort((a, b) => b.length - a.length);
  return (line) => {
    let out = line;
    for (const needle of needles) if (out.includes(needle)) out = out.split(needle).join(CENSOR);
    return out
      .replace(QUERY_CREDENTIAL, `$1${CENSOR}`)
      .replace(URL_USERINFO, `$1${CENSOR}@`)
      .replace(AUTH_SCHEME, `$1 ${CENSOR}`);
  };
}

const QUERY_CREDENTIAL =
  /([?&](?:key|api_?key|apikey|auth[_-]?key|token|access_token|secret|password|sig|signature)=)[^&#\s"\\]+/gi;
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s"@:]+:[^/\s"@]+@/gi;
const AUTH_SCHEME = /\b(Bearer|Basic|Splunk|Token)\s+[A-Za-z0-9._~+/=-]{8,}/g;
