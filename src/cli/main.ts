import { Command, CommanderError, Option } from 'commander';
import type { Client } from '@temporalio/client';
import { ConfigError, loadConfig, resolveConfigPath, type Config } from '../config/index.js';
import type { CycleReport, EnrichIocResult } from '../shared/messages.js';
import { reenrichIoc } from '../temporal/reenrich.js';
import { CycleAlreadyRunningError, runningCycle, startCycleNow, webUiLink } from '../temporal/cycles.js';
import { applySchedule, describeSchedule, triggerSchedule } from '../temporal/schedule.js';
import { installLogging } from '../temporal/logging.js';
import { describeConnection } from '../temporal/connection.js';
import { ensureTemporal } from '../temporal/server.js';
import { startWorker, type RunningWorker } from '../../worker.js';
import { formatCycleReport, formatIocDetails } from './format.js';
import { normaliseEntry } from '../ioc/index.js';
import { iocWorkflowId } from '../ioc/identity.js';
import { iocDetails, openStore } from '../store/index.js';
import { normalizeLines, openInput, parseLines } from './inspect.js';
import { loadConfiguredAllowlists, openRuntime } from './runtime.js';
import { SAVED_FORMATS, type SavedFormat } from '../sources/index.js';
import { once } from 'node:events';

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failure: 1, usage: 2, busy: 3, notFound: 4 } as const;

class UsageError extends Error {}
class NotFoundError extends Error {}

const say = (line: string) => process.stderr.write(`iocflow: ${line}\n`);

const program = new Command()
  .name('iocflow')
  .description('Durable threat-intelligence pipeline: ingest, normalise, enrich, score and deliver IOCs.')
  .showHelpAfterError()
  .exitOverride();

const configOption = () =>
  new Option(
    '-c, --config <file>',
    'config file (default: $IOCFLOW_CONFIG, ./config.yaml, then the bundled example)',
  );

program
  .command('dev')
  .description(
    'Run everything locally: the Temporal dev server (unless one answers at TEMPORAL_ADDRESS), the store, ' +
      'the worker and the schedule; start one cycle now and keep running until Ctrl-C.',
  )
  .addOption(configOption())
  .action(async (opts: { config?: string }) => {
    const runtime = await openRuntime(opts.config);
    installLogging(runtime);
    say(`config ${runtime.file}`);
    const temporal = await ensureTemporal(runtime.config, { say });
    const worker = await startWorker({ ...runtime, address: temporal.address });
    const stopping = untilSignalled();
    await runUntilStopped(
      worker,
      stopping,
      async () => {
        await temporal.close();
        runtime.close();
      },
      async () => {
        say(
          `schedule ${runtime.config.schedule.id}: ${await applySchedule(temporal.client, runtime.config)} (every ${runtime.config.schedule.every})`,
        );
        const handle = await startOrAttach(temporal.client, runtime.config);
        say(`cycle ${handle.workflowId}: ${webUiLink(runtime.config, handle.workflowId)}`);
        // Ctrl-C while the cycle runs stops the worker; the cycle itself resumes on the next start.
        const report = await Promise.race([handle.result(), stopping.then(() => undefined)]);
        if (!report) return;
        process.stdout.write(formatCycleReport(report) + '\n');
        say(`Web UI: ${runtime.config.temporal.webUiUrl} — worker running; Ctrl-C stops it`);
      },
    );
  });

program
  .command('worker')
  .description('Run the worker against the Temporal server at TEMPORAL_ADDRESS until SIGINT/SIGTERM.')
  .addOption(configOption())
  .option('--apply-schedule', 'create or update the cycle schedule before polling (idempotent)')
  .action(async (opts: { config?: string; applySchedule?: boolean }) => {
    const runtime = await openRuntime(opts.config);
    const log = installLogging(runtime);
    const temporal = await ensureTemporal(runtime.config, { say, startDevServer: false });
    const worker = await startWorker({ ...runtime, address: temporal.address });
    if (opts.applySchedule) {
      say(`schedule ${runtime.config.schedule.id}: ${await applySchedule(temporal.client, runtime.config)}`);
    }
    say(`worker polling ${runtime.config.temporal.taskQueue} on ${temporal.address}`);
    log.info(
      {
        taskQueue: runtime.config.temporal.taskQueue,
        temporal: describeConnection(runtime.config.temporal),
        metrics: worker.metricsUrl ?? null,
        temporalMetrics: runtime.config.metrics.temporalListen ?? null,
        shutdownGraceTime: runtime.config.temporal.shutdownGraceTime,
      },
      'worker polling',
    );
    await runUntilStopped(worker, untilSignalled(), async () => {
      await temporal.close();
      runtime.close();
    });
  });

program
  .command('run-once')
  .description(
    'Run one cycle to completion with an in-process worker, against TEMPORAL_ADDRESS or a dev server it ' +
      'starts itself; print the cycle statistics as JSON.',
  )
  .addOption(configOption())
  .action(async (opts: { config?: string }) => {
    const runtime = await openRuntime(opts.config);
    installLogging(runtime);
    const temporal = await ensureTemporal(runtime.config, { say });
    const worker = await startWorker({ ...runtime, address: temporal.address });
    try {
      const handle = await startCycleNow(temporal.client, runtime.config);
      say(`cycle ${handle.workflowId}: ${webUiLink(runtime.config, handle.workflowId)}`);
      process.stdout.write(JSON.stringify(await handle.result(), null, 2) + '\n');
    } finally {
      await worker.stop();
      await temporal.close();
      runtime.close();
    }
  });

const schedule = program
  .command('schedule')
  .description('Manage the Temporal Schedule that starts a cycle every interval.');

schedule
  .command('apply')
  .description('Create the schedule or bring it in line with the config (idempotent).')
  .addOption(configOption())
  .action(async (opts: { config?: string }) =>
    withClient(opts.config, async (client, config) => {
      process.stdout.write(`${config.schedule.id}: ${await applySchedule(client, config)}\n`);
    }),
  );

schedule
  .command('describe')
  .description('Show the schedule: interval, overlap policy, recent and next runs.')
  .addOption(configOption())
  .option('--json', 'machine-readable output')
  .action(async (opts: { config?: string; json?: boolean }) =>
    withClient(opts.config, async (client, config) => {
      const d = await describeSchedule(client, config);
      const summary = {
        id: config.schedule.id,
        paused: d.state.paused,
        every: d.spec.intervals?.map((i) => `${Number(i.every) / 1000}s`),
        overlap: d.policies.overlap,
        catchupWindowSeconds: Number(d.policies.catchupWindow) / 1000,
        actionsTaken: d.info.numActionsTaken,
        skippedOverlap: d.info.numActionsSkippedOverlap,
        running: d.info.runningActions.map((a) => a.workflow.workflowId),
        recent: d.info.recentActions.slice(-5).map((a) => ({
          scheduledAt: a.scheduledAt.toISOString(),
          workflowId: a.action.workflow.workflowId,
        })),
        next: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
      };
      process.stdout.write(opts.json ? JSON.stringify(summary, null, 2) + '\n' : formatObject(summary));
    }),
  );

schedule
  .command('trigger')
  .description('Start a cycle now through the schedule, under its overlap policy.')
  .addOption(configOption())
  .action(async (opts: { config?: string }) =>
    withClient(opts.config, async (client, config) => {
      await triggerSchedule(client, config);
      process.stdout.write(`${config.schedule.id}: triggered\n`);
    }),
  );

program
  .command('show')
  .description(
    'Everything known of one IOC: canonical form, score with its explanation and history, sightings by ' +
      'source, vendor evidence with dates, deliveries per sink, and its Web UI link.',
  )
  .argument('<ioc>', 'the indicator, as written anywhere (defanged is fine)')
  .addOption(configOption())
  .option('--json', 'machine-readable output')
  .action(async (ioc: string, opts: { config?: string; json?: boolean }) => {
    const { config } = loadConfig(resolveConfigPath(opts.config));
    const outcome = normaliseEntry(ioc)[0];
    if (outcome?.kind !== 'indicator') {
      throw new UsageError(
        `not an indicator: ${JSON.stringify(ioc)} (${outcome?.kind === 'rejected' ? outcome.reason : 'empty'})`,
      );
    }
    const store = openStore(config.store.path);
    try {
      const details = iocDetails(store.db, outcome.key);
      if (!details) throw new NotFoundError(`${outcome.key} is not in the store (${config.store.path})`);
      const link = webUiLink(config, iocWorkflowId(outcome.key));
      process.stdout.write(
        opts.json
          ? JSON.stringify({ ...details, webUi: link }, null, 2) + '\n'
          : formatIocDetails(details, link),
      );
    } finally {
      store.close();
    }
  });

program
  .command('reenrich')
  .description(
    'Enrich and score one IOC again now, bypassing every vendor cache: signals its EnrichIoc workflow, or ' +
      'starts one (signal-with-start). The IOC may be written defanged.',
  )
  .argument('<ioc>', 'the indicator, e.g. 185.220.101[.]47')
  .addOption(configOption())
  .option('--wait', 'wait for the new score and print it')
  .action(async (ioc: string, opts: { config?: string; wait?: boolean }) =>
    withClient(opts.config, async (client, config) => {
      const { workflowId, key } = await reenrichIoc(client, config, ioc);
      say(`${key}: ${webUiLink(config, workflowId)}`);
      if (opts.wait) {
        const result = await client.workflow.getHandle<() => Promise<EnrichIocResult>>(workflowId).result();
        process.stdout.write(JSON.stringify(result) + '\n');
      } else {
        process.stdout.write(JSON.stringify({ key, workflowId }) + '\n');
      }
    }),
  );

const allowlistOffOption = () =>
  new Option('--allowlist-off <name>', 'switch an allowlist off by name (repeatable)').argParser(
    (value: string, previous: string[] = []) => [...previous, value],
  );

program
  .command('normalize')
  .description(
    'Normalise indicators, one per line, from FILE or standard input: one JSON line per input with its ' +
      'canonical type and value (and the allowlist that matched), or the reason it was rejected.',
  )
  .argument('[file]', 'input file, or - for standard input', '-')
  .addOption(configOption())
  .addOption(allowlistOffOption())
  .action(async (file: string, opts: { config?: string; allowlistOff?: string[] }) => {
    const allowlists = await loadConfiguredAllowlists(
      loadConfig(resolveConfigPath(opts.config)),
      opts.allowlistOff,
    );
    await writeJsonLines(normalizeLines(openInput(file), allowlists));
  });

program
  .command('parse')
  .description(
    'Show what a source would extract from a saved response: one JSON line per distinct indicator and ' +
      'one per rejected entry.',
  )
  .addOption(
    new Option('-f, --format <name>', 'source format')
      .choices(Object.keys(SAVED_FORMATS))
      .makeOptionMandatory(),
  )
  .argument('<path>', 'the saved response')
  .addOption(configOption())
  .addOption(allowlistOffOption())
  .action(async (path: string, opts: { format: SavedFormat; config?: string; allowlistOff?: string[] }) => {
    const allowlists = await loadConfiguredAllowlists(
      loadConfig(resolveConfigPath(opts.config)),
      opts.allowlistOff,
    );
    await writeJsonLines(parseLines(SAVED_FORMATS[opts.format](path), allowlists));
  });

program
  .command('config')
  .description('Configuration commands.')
  .command('check')
  .description('Validate the config file and the environment variables it references.')
  .addOption(configOption())
  .action((opts: { config?: string }) => {
    const { config, file } = loadConfig(resolveConfigPath(opts.config));
    const sources = Object.entries(config.sources);
    const sinks = Object.entries(config.sinks);
    process.stdout.write(
      `${file}: ok\n` +
        `  sources: ${sources.map(([n, s]) => `${n} (${s.type}${s.enabled ? '' : ', disabled'})`).join(', ') || 'none'}\n` +
        `  sinks:   ${sinks.map(([n, s]) => `${n} (${s.type}${s.enabled ? '' : ', disabled'})`).join(', ') || 'none'}\n`,
    );
  });

async function withClient(
  configPath: string | undefined,
  fn: (client: Client, config: Config) => Promise<void>,
): Promise<void> {
  const { config } = loadConfig(resolveConfigPath(configPath));
  const temporal = await ensureTemporal(config, { say, startDevServer: false });
  try {
    await fn(temporal.client, config);
  } finally {
    await temporal.close();
  }
}

/** `dev` attaches to a cycle that is already running rather than failing. */
async function startOrAttach(client: Client, config: Config) {
  try {
    return await startCycleNow(client, config);
  } catch (err) {
    if (!(err instanceof CycleAlreadyRunningError)) throw err;
    say(`a cycle is already running: following ${err.workflowId}`);
    const id = (await runningCycle(client, config)) ?? err.workflowId;
    return client.workflow.getHandle<() => Promise<CycleReport>>(id);
  }
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignalled(): Promise<void> {
  return new Promise((resolve) => {
    const handler = () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      say('stopping: finishing in-flight tasks');
      resolve();
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

/**
 * Keeps a worker running until a signal (graceful: in-flight tasks finish) or until it stops on its own
 * (a crash, rethrown), running `meanwhile` alongside; either way `close` runs once the worker is down.
 */
async function runUntilStopped(
  worker: RunningWorker,
  signalled: Promise<void>,
  close: () => Promise<void>,
  meanwhile: () => Promise<void> = async () => undefined,
): Promise<void> {
  const crashed: Promise<Error | undefined> = worker.done.then(
    () => undefined,
    (err: unknown) => (err instanceof Error ? err : new Error(`the worker stopped: ${JSON.stringify(err)}`)),
  );
  try {
    await meanwhile();
    await Promise.race([signalled, crashed]);
    await worker.stop().catch(() => undefined);
    const failure = await crashed;
    if (failure) throw failure;
  } finally {
    await worker.stop().catch(() => undefined);
    await close();
    say('stopped');
  }
}

/** Writes JSON lines, waiting when stdout is slow (a pipe into `head` must not buffer everything). */
async function writeJsonLines(lines: AsyncIterable<unknown>): Promise<void> {
  for await (const line of lines) {
    if (!process.stdout.write(JSON.stringify(line) + '\n')) await once(process.stdout, 'drain');
  }
}

function formatObject(value: Record<string, unknown>): string {
  return Object.entries(value)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join('\n')
    .concat('\n');
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = EXIT.usage;
  } else if (err instanceof UsageError || err instanceof NotFoundError) {
    process.stderr.write(`iocflow: ${err.message}\n`);
    process.exitCode = err instanceof UsageError ? EXIT.usage : EXIT.notFound;
  } else if (err instanceof CycleAlreadyRunningError) {
    process.stderr.write(`iocflow: ${err.message}\n`);
    process.exitCode = EXIT.busy;
  } else {
    process.stderr.write(`iocflow: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT.failure;
  }
}

// Everything the command opened is closed by now, but the Temporal SDK's native runtime and gRPC channels
// idle for several seconds before letting Node exit; exit as soon as the output is flushed.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit();
