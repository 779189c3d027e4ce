import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/**
 * Routes the SDK's own logs (worker state, workflow bundler) to stderr at the given level, WARN by default:
 * at INFO the bundler alone prints a screenful per worker start. Call once per process, before any worker.
 */
export function installSdkLogger(level: string | undefined = process.env.IOCFLOW_LOG_LEVEL): void {
  const wanted = (level ?? 'warn').toUpperCase();
  const found: LogLevel = LEVELS.find((l) => l === wanted) ?? 'WARN';
  Runtime.install({ logger: new DefaultLogger(found) });
}
