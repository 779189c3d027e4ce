import type { LoadedConfig } from '../config/index.js';
import { Runtime, type LogLevel, type LogMetadata, type Logger as SdkLogger } from '@temporalio/worker';
import { createLogger, resolveLogLevel, type LogLevelName, type Logger } from '../observability/logging.js';

/**
 * The SDK's Runtime logger receives everything: its own messages (worker lifecycle, bundler, and with
 * forwarding the Rust core's), workflow `log` calls through the built-in sink, and the activity context
 * logger with the activity's attributes. This adapter turns them all into pino lines.
 *
 * The Runtime is one per process, and so is this route: a process installs it once, and a later call
 * (a command that has read its config, a test capturing output) only points it at another pino logger.
 */
class SdkLogRoute implements SdkLogger {
  constructor(
    private app: Logger,
    private sdk: Logger,
  ) {}

  use(app: Logger, sdkLevel: LogLevelName): void {
    this.app = app;
    this.sdk = app.child({}, { level: sdkLevel });
  }

  log(level: LogLevel, message: string, meta: LogMetadata = {}): void {
    const component: unknown = meta.sdkComponent;
    // Workflow and activity code speak at the operator's level; the SDK's own chatter has a level of its own.
    const target = component === 'workflow' || component === 'activity' ? this.app : this.sdk;
    target[PINO_METHOD[level]]({ ...meta }, message);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

const PINO_METHOD = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
} as const satisfies Record<LogLevel, LogLevelName>;

export interface SdkLoggingOptions {
  /** Where the lines go. @default a stderr JSON logger at IOCFLOW_LOG_LEVEL, else warn */
  logger?: Logger;
  /** Least level of the SDK's own messages. @default warn */
  sdkLevel?: LogLevelName;
  /** host:port where the SDK core serves its Prometheus metrics; only honoured by the first install. */
  temporalMetricsListen?: string | undefined;
}

let route: SdkLogRoute | undefined;

/**
 * Routes the SDK's logs into pino and, on first call, installs the Runtime (with core log forwarding and,
 * when asked, the core's Prometheus exporter). Call before any worker or native connection is created.
 */
export function installSdkLogger(options: SdkLoggingOptions = {}): void {
  const sdkLevel = options.sdkLevel ?? 'warn';
  const logger = options.logger ?? createLogger({ level: resolveLogLevel({ level: 'warn' }) });
  if (route) {
    if (options.temporalMetricsListen !== undefined) {
      throw new Error(
        'the Temporal runtime is already installed without metrics (config: metrics.temporalListen)',
      );
    }
    route.use(logger, sdkLevel);
    return;
  }
  route = new SdkLogRoute(logger, logger);
  route.use(logger, sdkLevel);
  Runtime.install({
    // iocflow's commands own SIGINT and SIGTERM (src/cli/signals.ts) and stop their workers with the grace
    // time. The runtime's own handler would also catch a signal that arrives before any worker exists, and
    // then shut down every worker created after it at once: a process that neither works nor exits.
    shutdownSignals: [],
    logger: route,
    telemetryOptions: {
      logging: { forward: {}, filter: { core: SDK_LEVEL[sdkLevel], other: 'ERROR' } },
      ...(options.temporalMetricsListen
        ? { metrics: { prometheus: { bindAddress: options.temporalMetricsListen } } }
        : {}),
    },
  });
}

const SDK_LEVEL = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
} as const satisfies Record<LogLevelName, LogLevel>;

/**
 * The logging and Temporal runtime of a process that runs workers, from its loaded config: JSON lines at
 * `logging.level` (IOCFLOW_LOG_LEVEL wins) with every `${ENV}` value of the config blanked, the SDK's own
 * messages at `logging.sdkLevel`, and the SDK's metrics at `metrics.temporalListen` when set.
 */
export function installLogging(loaded: Pick<LoadedConfig, 'config' | 'secrets'>): Logger {
  const { logging, metrics } = loaded.config;
  const logger = createLogger({ level: resolveLogLevel(logging), secrets: loaded.secrets });
  installSdkLogger({ logger, sdkLevel: logging.sdkLevel, temporalMetricsListen: metrics.temporalListen });
  return logger;
}
