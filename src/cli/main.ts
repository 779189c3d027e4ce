import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { ConfigError, loadConfig, missingFiles, resolveConfigPath, type Config } from '../config/index.js';
import type { CycleProgress, CycleReport, EnrichIocResult } from '../shared/messages.js';
import { indicatorFrom, NotAnIndicatorError, reenrichIoc } from '../temporal/reenrich.js';
import {
  CycleAlreadyRunningError,
  cycleProgress,
  followCycle,
  runningCycle,
  startCycleNow,
  webUiLink,
} from '../temporal/cycles.js';
import {
  applySchedule,
  BACKFILL_OVERLAP,
  backfillSchedule,
  describeSchedule,
  pauseSchedule,
  ScheduleMissingError,
  summariseSchedule,
  triggerSchedule,
  unpauseSchedule,
  type BackfillOverlap,
} from '../temporal/schedule.js';
import { installLogging } from '../temporal/logging.js';
import { describeConnection } from '../temporal/connection.js';
import { ensureTemporal } from '../temporal/server.js';
import { startWorker, type RunningWorker } from '../../worker.js';
import { formatCycleReport, formatIocDetails, formatTable } from './format.js';
import { IOC_TYPES } from '../ioc/index.js';
import { iocWorkflowId } from '../ioc/identity.js';
import {
  findCycle,
  findIoc,
  highConfidenceIocs,
  iocDetails,
  openStore,
  recentCycles,
  searchIocs,
  type Store,
} from '../store/index.js';
import { formatCycles, summariseCycle } from './cycles.js';
import { cycleProgressDisplay } from './progress.js';
import { EXPORT_FORMATS, exportToFile, writeExport, type ExportFormat } from './export.js';
import { normalizeLines, openInput, parseLines } from './inspect.js';
import { loadConfiguredAllowlists, openRuntime } from './runtime.js';
import { SAVED_FORMATS, type SavedFormat } from '../sources/index.js';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { untilSignalled } from './signals.js';

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failure: 1, usage: 2, busy: 3, notFound: 4, degraded: 5, stopped: 130 } as const;

class UsageError extends Error {}
class NotFoundError extends Error {}

const say = (line: string) => process.stderr.write(`iocflow: ${line}\n`);

const program = new Command()
  .name('iocflow')
  .description('Durable threat-intelligence pipeline: ingest, normalise, enrich, score and deliver IOCs.')
  .showHelpAfterError()
  .exitOverride()
  .addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 failure, 2 bad usage or configuration, 3 a cycle is already running, ' +
      '4 not found (IOC, schedule, running cycle), 5 the cycle ran but a source or sink failed (run-once), ' +
      '130 stopped by a signal before the cycle finished (run-once).\n' +
      'Environment: IOCFLOW_CONFIG (config file), TEMPORAL_ADDRESS, IOCFLOW_LOG_LEVEL (overrides logging.level).',
  );

const configOption = () =>
  new Option(
    '-c, --config <file>',
    'config file (default: $IOCFLOW_CONFIG, ./config.yaml, then the bundled example)',
  );

const jsonOption = (what = 'machine-readable output (JSON)') => new Option('--json', what);

/** An integer option in [min, max]; anything else is a usage error naming the option. */
const integerIn = (min: number, max: number) => {
  const schema = z.coerce.number().int().min(min).max(max);
  return (value: string) => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return parsed.data;
  };
};

/** An ISO 8601 date-time with a time zone (`2026-05-01T00:00:00Z`). */
const isoDateTime = (value: string) => {
  const parsed = z.iso.datetime({ offset: true }).safeParse(value);
  if (!parsed.success)
    throw new InvalidArgumentError('expected an ISO 8601 date-time with a zone, e.g. 2026-05-01T00:00:00Z');
  return new Date(parsed.data);
};

const scoreOption = (flags: string, description: string) =>
  new Option(flags, description).argParser(integerIn(0, 100));

program
  .command('dev')
  .description(
    'Run everything locally: the Temporal dev server (unless one answers at TEMPORAL_ADDRESS), the store, ' +
      'the worker and the schedule; start one cycle now and keep running until Ctrl-C.',
  )
  .addOption(configOption())
  .action(async (opts: { config?: string }) => {
    const stopping = untilSignalled(say);
    const runtime = await openRuntime(opts.config);
    installLogging(runtime);
    say(`config ${runtime.file}`);
    const temporal = await ensureTemporal(runtime.config, { say });
    const close = async () => {
      await temporal.close();
      runtime.close();
    };
    if (stopping.fired) return stopBeforeWork(close);
    const worker = await startWorker({ ...runtime, address: temporal.address });
    await runUntilStopped(worker, stopping, close, async () => {
      if (stopping.fired) return;
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
    });
  });

program
  .command('worker')
  .description('Run the worker against the Temporal server at TEMPORAL_ADDRESS until SIGINT/SIGTERM.')
  .addOption(configOption())
  .option('--apply-schedule', 'create or update the cycle schedule before polling (idempotent)')
  .action(async (opts: { config?: string; applySchedule?: boolean }) => {
    const stopping = untilSignalled(say);
    const runtime = await openRuntime(opts.config);
    const log = installLogging(runtime);
    const temporal = await ensureTemporal(runtime.config, { say, startDevServer: false });
    const close = async () => {
      await temporal.close();
      runtime.close();
    };
    if (stopping.fired) return stopBeforeWork(close);
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
    await runUntilStopped(worker, stopping, close);
  });

program
  .command('run-once')
  .description(
    'Run one cycle to completion with an in-process worker, against TEMPORAL_ADDRESS or a dev server it ' +
      'starts itself; show its progress on a terminal (stderr) and print the cycle statistics as JSON ' +
      '(stdout). Refuses (exit 3) while a cycle is running.',
  )
  .addOption(configOption())
  .action(async (opts: { config?: string }) => {
    const stopping = untilSignalled(say);
    const runtime = await openRuntime(opts.config);
    installLogging(runtime);
    const temporal = await ensureTemporal(runtime.config, { say });
    let worker: RunningWorker | undefined;
    try {
      // Refuse before the in-process worker starts: it would otherwise take over the running cycle's tasks.
      const running = await runningCycle(temporal.client, runtime.config);
      if (running) throw new CycleAlreadyRunningError(running);
      if (stopping.fired) return void (process.exitCode = EXIT.stopped);
      worker = await startWorker({ ...runtime, address: temporal.address });
      const handle = await startCycleNow(temporal.client, runtime.config);
      say(`cycle ${handle.workflowId}: ${webUiLink(runtime.config, handle.workflowId)}`);
      const display = cycleProgressDisplay(handle.workflowId);
      const report = await Promise.race([
        followCycle(temporal.client, handle.workflowId, (p) => display.update(p)),
        stopping.then(() => undefined),
      ]).finally(() => display.stop());
      if (!report) {
        say(`cycle ${handle.workflowId} goes on in Temporal and resumes when a worker polls again`);
        process.exitCode = EXIT.stopped;
        return;
      }
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      // A cron job's `run-once || alert` must hear of a feed or a sink that failed, not only of a crash.
      const failed = [
        ...report.sources.filter((r) => r.status === 'failed').map((r) => `source ${r.source}`),
        ...report.sinks.filter((r) => r.error !== undefined).map((r) => `sink ${r.sink}`),
      ];
      if (failed.length > 0) {
        say(`the cycle finished, but ${failed.join(', ')} failed (see the statistics)`);
        process.exitCode = EXIT.degraded;
      }
    } finally {
      await worker?.stop();
      await temporal.close();
      runtime.close();
    }
  });

program
  .command('cycles')
  .description(
    'Recent cycles, newest first, with their statistics: entries collected, new IOCs and rejected entries ' +
      'over all sources; IOCs planned, enriched and failed; IOCs delivered per sink; duration. A running ' +
      'cycle shows its live progress (asked of the cycle itself).',
  )
  .addOption(configOption())
  .addOption(
    new Option('-n, --limit <n>', 'how many cycles to list').argParser(integerIn(1, 1000)).default(10),
  )
  .addOption(jsonOption('machine-readable output: a JSON array of cycles (with --watch: the finished cycle)'))
  .option(
    '--watch',
    'follow the running cycle until it finishes (a progress bar on a terminal, a line every 10s ' +
      'otherwise, on stderr), then print its statistics; exit 4 when no cycle is running',
  )
  .action(async (opts: { config?: string; limit: number; json?: boolean; watch?: boolean }) => {
    const { config } = loadConfig(resolveConfigPath(opts.config));
    if (opts.watch) {
      await withClient(opts.config, async (client) => {
        const id = await runningCycle(client, config);
        if (!id)
          throw new NotFoundError(
            'no cycle is running (start one with `iocflow schedule trigger` or `iocflow run-once`)',
          );
        say(`following cycle ${id}: ${webUiLink(config, id)}`);
        const display = cycleProgressDisplay(id, { plainLines: true });
        const report = await followCycle(client, id, (p) => display.update(p)).finally(() => display.stop());
        const row = withStore(config.store.path, (store) => findCycle(store.db, id));
        if (!row) {
          // The worker writes to a store this machine does not see: the workflow's own report is all there is.
          process.stdout.write(
            opts.json ? JSON.stringify(report, null, 2) + '\n' : formatCycleReport(report) + '\n',
          );
          return;
        }
        const summary = summariseCycle(row, { running: false }, Date.now());
        process.stdout.write(
          opts.json
            ? JSON.stringify(summary, null, 2) + '\n'
            : formatCycles([summary]) + formatCycleReport(report) + '\n',
        );
      });
      return;
    }
    const rows = withStore(config.store.path, (store) => recentCycles(store.db, opts.limit));
    let running: string | undefined;
    let progress: CycleProgress | undefined;
    let reachable = true;
    if (rows.some((r) => r.finishedAt === null)) {
      try {
        await withClient(opts.config, async (client) => {
          running = await runningCycle(client, config);
          if (running) progress = await cycleProgress(client, running);
        });
      } catch (err) {
        reachable = false;
        say(`live progress unavailable: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const now = Date.now();
    const summaries = rows.map((row) =>
      summariseCycle(
        row,
        row.id === running ? { running: true, progress } : { running: reachable ? false : undefined },
        now,
      ),
    );
    process.stdout.write(opts.json ? JSON.stringify(summaries, null, 2) + '\n' : formatCycles(summaries));
  });

const schedule = program
  .command('schedule')
  .description('Manage the Temporal Schedule that starts a cycle every interval.');

schedule
  .command('apply')
  .description('Create the schedule or bring it in line with the config (idempotent).')
  .addOption(configOption())
  .addOption(jsonOption('machine-readable output: {"id","outcome"} (created, updated or unchanged)'))
  .action(async (opts: { config?: string; json?: boolean }) =>
    withClient(opts.config, async (client, config) => {
      const outcome = await applySchedule(client, config);
      process.stdout.write(
        opts.json
          ? JSON.stringify({ id: config.schedule.id, outcome }) + '\n'
          : `${config.schedule.id}: ${outcome}\n`,
      );
    }),
  );

schedule
  .command('describe')
  .description(
    'Show the schedule: paused or not (and the note why), interval, overlap policy, recent and next runs.',
  )
  .addOption(configOption())
  .addOption(jsonOption())
  .action(async (opts: { config?: string; json?: boolean }) =>
    withClient(opts.config, async (client, config) => {
      const summary = summariseSchedule(config.schedule.id, await describeSchedule(client, config));
      process.stdout.write(
        opts.json ? JSON.stringify(summary, null, 2) + '\n' : formatObject({ ...summary }),
      );
    }),
  );

schedule
  .command('trigger')
  .description('Start a cycle now through the schedule, under its overlap policy.')
  .addOption(configOption())
  .addOption(jsonOption('machine-readable output: {"id","triggered":true}'))
  .action(async (opts: { config?: string; json?: boolean }) =>
    withClient(opts.config, async (client, config) => {
      await triggerSchedule(client, config);
      process.stdout.write(
        opts.json
          ? JSON.stringify({ id: config.schedule.id, triggered: true }) + '\n'
          : `${config.schedule.id}: triggered\n`,
      );
    }),
  );

for (const [name, paused] of [
  ['pause', true],
  ['unpause', false],
] as const) {
  schedule
    .command(name)
    .description(
      paused
        ? 'Stop the schedule from starting cycles (a running cycle finishes); `describe` shows the note.'
        : 'Let the schedule start cycles again (missed ticks are not made up: see backfill).',
    )
    .addOption(configOption())
    .option(
      '--note <text>',
      `why, for whoever looks next (default: "${name}d with iocflow schedule ${name}")`,
    )
    .addOption(jsonOption('machine-readable output: {"id","paused","note"}'))
    .action(async (opts: { config?: string; note?: string; json?: boolean }) =>
      withClient(opts.config, async (client, config) => {
        await (paused ? pauseSchedule : unpauseSchedule)(client, config, opts.note);
        const { state } = await describeSchedule(client, config);
        const result = { id: config.schedule.id, paused: state.paused, note: state.note || null };
        process.stdout.write(
          opts.json
            ? JSON.stringify(result) + '\n'
            : `${result.id}: ${result.paused ? 'paused' : 'running'}${result.note ? ` (${result.note})` : ''}\n`,
        );
      }),
    );
}

schedule
  .command('backfill')
  .description(
    "Run the schedule's ticks of a past window now (after a pause or an outage): one cycle per tick in " +
      '[FROM, TO], under the overlap policy given; waits until each tick was started or skipped.',
  )
  .addOption(configOption())
  .addOption(
    new Option('--from <iso>', 'start of the window, inclusive (e.g. 2026-05-01T00:00:00Z)')
      .argParser(isoDateTime)
      .makeOptionMandatory(),
  )
  .addOption(
    new Option('--to <iso>', 'end of the window, inclusive').argParser(isoDateTime).makeOptionMandatory(),
  )
  .addOption(
    new Option(
      '--overlap <policy>',
      'while a cycle the schedule started runs: skip the tick, buffer_all (run each after the previous), ' +
        'or allow_all (run at once, and no longer count as running for later ticks)',
    )
      .choices(Object.keys(BACKFILL_OVERLAP))
      .default('skip'),
  )
  .addOption(jsonOption('machine-readable output: {"id","ticks","started","skipped","pending"}'))
  .action(
    async (opts: { config?: string; from: Date; to: Date; overlap: BackfillOverlap; json?: boolean }) => {
      if (opts.from >= opts.to) throw new UsageError('--from must be before --to');
      await withClient(opts.config, async (client, config) => {
        const outcome = await backfillSchedule(client, config, opts);
        process.stdout.write(
          opts.json
            ? JSON.stringify({ id: config.schedule.id, ...outcome }) + '\n'
            : `${config.schedule.id}: ${outcome.ticks} tick${outcome.ticks === 1 ? '' : 's'} in the window; ` +
                `started ${outcome.started.length ? outcome.started.join(', ') : 'none'}; ` +
                `${outcome.skipped} skipped (a cycle was running)` +
                (outcome.pending ? `; ${outcome.pending} still pending` : '') +
                '\n',
        );
      });
    },
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
    const outcome = indicatorFrom(ioc);
    const store = openExistingStore(config.store.path);
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
  .command('search')
  .description(
    'IOCs in the store that match every filter given, highest score first: key, latest score, severity, ' +
      'sources, last seen.',
  )
  .addOption(configOption())
  .addOption(new Option('-t, --type <type>', 'only IOCs of this type').choices(IOC_TYPES))
  .addOption(scoreOption('--min-score <n>', 'latest score at least N (0–100); unscored IOCs never match'))
  .addOption(scoreOption('--max-score <n>', 'latest score at most N (0–100); unscored IOCs never match'))
  .option('-s, --source <name>', 'seen by this source (its name in the config)')
  .option('--tag <tag>', 'given this tag by any source (case-insensitive)')
  .addOption(new Option('-n, --limit <n>', 'at most N IOCs').argParser(integerIn(1, 1_000_000)).default(50))
  .addOption(jsonOption('machine-readable output: a JSON array of IOCs'))
  .action(
    (opts: {
      config?: string;
      type?: string;
      minScore?: number;
      maxScore?: number;
      source?: string;
      tag?: string;
      limit: number;
      json?: boolean;
    }) => {
      if (opts.minScore !== undefined && opts.maxScore !== undefined && opts.minScore > opts.maxScore)
        throw new UsageError('--min-score is above --max-score: nothing can match');
      const { config } = loadConfig(resolveConfigPath(opts.config));
      const found = withStore(config.store.path, (store) => searchIocs(store.db, opts));
      const iso = (ms: number) => new Date(ms).toISOString();
      if (opts.json) {
        const out = found.map((m) => ({ ...m, firstSeen: iso(m.firstSeen), lastSeen: iso(m.lastSeen) }));
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      if (found.length === 0) {
        process.stdout.write('no IOC matches\n');
        return;
      }
      process.stdout.write(
        formatTable(
          ['KEY', 'SCORE', 'SEVERITY', 'SOURCES', 'LAST SEEN'],
          found.map((m) => [
            m.key,
            m.score === null ? '-' : String(m.score),
            m.severity ?? (m.status === 'new' ? 'not scored' : '-'),
            m.sources.join(', '),
            iso(m.lastSeen).replace(/\.\d{3}Z$/, 'Z'),
          ]),
        ),
      );
      if (found.length === opts.limit) say(`showing the first ${opts.limit}; raise --limit for more`);
    },
  );

program
  .command('export')
  .description(
    'Write the current high-confidence set: IOCs whose latest score reaches --min-score and whose ' +
      'lifetime has not ended (allowlisted IOCs never), one IOC at a time, so any size streams.',
  )
  .addOption(configOption())
  .addOption(
    new Option(
      '-f, --format <format>',
      'jsonl: one JSON object per IOC; csv: header row, RFC 4180 quoting, lists `;`-separated; ' +
        'stix: a STIX 2.1 bundle of indicators (the same ids and patterns the Sentinel sink sends)',
    )
      .choices(EXPORT_FORMATS)
      .default('jsonl'),
  )
  .addOption(scoreOption('--min-score <n>', 'lowest latest score exported, 0–100').default(70))
  .option('-o, --output <file>', 'write FILE (replaced only once complete) instead of standard output')
  .action(async (opts: { config?: string; format: ExportFormat; minScore: number; output?: string }) => {
    const { config } = loadConfig(resolveConfigPath(opts.config));
    const store = openExistingStore(config.store.path);
    try {
      const now = Date.now();
      const iocs = highConfidenceIocs(store.db, { minScore: opts.minScore, now });
      const count = opts.output
        ? await exportToFile(opts.output, (out) => writeExport(iocs, opts.format, out))
        : await writeExport(iocs, opts.format, process.stdout);
      say(`exported ${count} IOC${count === 1 ? '' : 's'} with a score of ${opts.minScore} or more`);
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
  .addOption(
    jsonOption(
      'machine-readable output: {"key","workflowId"}, or with --wait {"key","score","severity","scoreVersion","changed"}',
    ),
  )
  .action(async (ioc: string, opts: { config?: string; wait?: boolean; json?: boolean }) => {
    const indicator = indicatorFrom(ioc); // a typo is a usage error, whether or not the server is up
    await withClient(opts.config, async (client, config) => {
      // Scoring needs the IOC's sightings: a workflow started for an IOC no source delivered would only
      // fail. A store that is not on this machine (the worker runs elsewhere) cannot be asked.
      if (existsSync(config.store.path)) {
        const store = openStore(config.store.path);
        try {
          if (!findIoc(store.db, indicator.key))
            throw new NotFoundError(
              `${indicator.key} is not in the store (${config.store.path}): it is enriched once a source delivers it`,
            );
        } finally {
          store.close();
        }
      }
      const { workflowId, key } = await reenrichIoc(client, config, ioc);
      say(`${key}: ${webUiLink(config, workflowId)}`);
      if (opts.wait) {
        const result = await client.workflow.getHandle<() => Promise<EnrichIocResult>>(workflowId).result();
        process.stdout.write(
          opts.json
            ? JSON.stringify(result) + '\n'
            : `${result.key}: score ${result.score} (${result.severity}), version ${result.scoreVersion}` +
                `${result.changed ? '' : ', unchanged'}\n`,
        );
      } else {
        process.stdout.write(
          opts.json
            ? JSON.stringify({ key, workflowId }) + '\n'
            : `${key}: re-enrichment requested (${workflowId})\n`,
        );
      }
    });
  });

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
  .description(
    'Validate the config file, the environment variables it references and the local files it reads.',
  )
  .addOption(configOption())
  .addOption(
    jsonOption(
      'machine-readable output: {"file","ok","sources","sinks"}, or {"file","ok":false,"problems"} (exit 2)',
    ),
  )
  .action((opts: { config?: string; json?: boolean }) => {
    const refuse = (err: ConfigError): never => {
      if (opts.json)
        process.stdout.write(
          JSON.stringify({ file: err.file, ok: false, problems: err.problems }, null, 2) + '\n',
        );
      throw err;
    };
    let loaded;
    try {
      loaded = loadConfig(resolveConfigPath(opts.config));
    } catch (err) {
      if (err instanceof ConfigError) refuse(err);
      throw err;
    }
    const { config, file } = loaded;
    const missing = missingFiles(config);
    if (missing.length > 0) refuse(new ConfigError(file, missing));
    const list = (entries: [string, { type: string; enabled: boolean }][]) =>
      entries.map(([name, s]) => ({ name, type: s.type, enabled: s.enabled }));
    const sources = list(Object.entries(config.sources));
    const sinks = list(Object.entries(config.sinks));
    if (opts.json) {
      process.stdout.write(JSON.stringify({ file, ok: true, sources, sinks }, null, 2) + '\n');
      return;
    }
    const line = (items: typeof sources) =>
      items.map((i) => `${i.name} (${i.type}${i.enabled ? '' : ', disabled'})`).join(', ') || 'none';
    process.stdout.write(`${file}: ok\n  sources: ${line(sources)}\n  sinks:   ${line(sinks)}\n`);
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

/**
 * The store a read-only command reads. Opening a missing file would create an empty store there, and a
 * mistyped `store.path` would then answer "nothing found" instead of pointing at the mistake.
 */
function openExistingStore(path: string): Store {
  if (!existsSync(path))
    throw new NotFoundError(
      `no store at ${path} (config: store.path): no cycle has run with this configuration yet, or the path is wrong`,
    );
  return openStore(path);
}

/** Opens the store for one read; closes it whatever happens. */
function withStore<T>(path: string, fn: (store: Store) => T): T {
  const store = openExistingStore(path);
  try {
    return fn(store);
  } finally {
    store.close();
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

/**
 * Keeps a worker running until a signal (graceful: in-flight tasks finish) or until it stops on its own
 * (a crash, rethrown), running `meanwhile` alongside; either way `close` runs once the worker is down.
 */
/** A stop asked for while the process was starting: close what was opened, start nothing more. */
async function stopBeforeWork(close: () => Promise<void>): Promise<void> {
  await close();
  say('stopped');
}

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

// `iocflow export | head`: a reader that has read what it wants closes the pipe. That ends the output the
// command was asked for; it is no failure of the command.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
  throw err;
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = EXIT.usage;
  } else if (
    err instanceof UsageError ||
    err instanceof NotAnIndicatorError ||
    err instanceof NotFoundError ||
    err instanceof ScheduleMissingError
  ) {
    process.stderr.write(`iocflow: ${err.message}\n`);
    process.exitCode =
      err instanceof UsageError || err instanceof NotAnIndicatorError ? EXIT.usage : EXIT.notFound;
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
