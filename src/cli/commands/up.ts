import type { CliIo } from '../io.js';
import type { GivenSettings } from '../../app/settings/settings-table.js';
import type { DaemonSettings } from '../../app/daemon/daemon-settings.js';
import type { DaemonRecord } from '../../daemon/daemon-record.js';

/** `batch up`'s options: its rows of the settings table. */
export type UpOptions = GivenSettings<'up'>;

/**
 * `batch up`: starts the daemon that keeps model servers warm between runs (in the background, or
 * with `--foreground` in this process until SIGTERM/Ctrl-C). A daemon already running in the batch
 * home is said, with its pid and address, and left as it is (exit 0). Returns the exit code.
 */
export async function upCommand(options: UpOptions, io: CliIo): Promise<number> {
  const [{ batchHome }, { findLiveDaemon }, { settingDefaults }, { parseDurationText }, { loadAdvice }] = await Promise.all([
    import('../../store/job-paths.js'),
    import('../../daemon/daemon-record.js'),
    import('../../app/settings/settings-table.js'),
    import('../../app/run/resolve-deadline.js'),
    import('../../hardware/saved-advice.js'),
  ]);
  const home = batchHome(io.env, io.cwd);
  const defaults = settingDefaults('up');
  // Saved advice (`batch optimize`) shapes the daemon's servers as it does a run's own.
  const advice = loadAdvice(home);
  const settings: DaemonSettings = {
    models: (options.models ?? []).map((model) => model),
    modelsDir: options.modelsDir,
    engine: options.engine ?? defaults.engine,
    llamaServer: options.llamaServer,
    llamaServerArgs: options.llamaServerArgs,
    gpuLayers: options.gpuLayers,
    threads: options.threads,
    slots: options.slots ?? advice?.slots ?? defaults.slots!,
    contextSize: options.contextSize ?? advice?.contextSize ?? defaults.contextSize!,
    maxModels: options.maxModels ?? advice?.maxModels ?? defaults.maxModels!,
    memoryBudgetBytes: options.memoryBudgetBytes,
    startupTimeoutMs: options.startupTimeoutMs ?? defaults.startupTimeoutMs!,
    port: options.port,
    idleMs: parseDurationText(options.idle ?? defaults.idle!, '--idle'),
    exitWhenIdle: options.exitWhenIdle ?? false,
    metricsListen: options.daemonMetricsListen,
  };
  await checkSettings(settings, io);
  const running = findLiveDaemon(home);
  if (running !== undefined) return alreadyRunning(running, home, io);
  if (options.foreground === true) return foreground(settings, home, io);
  const [{ launchDaemon, daemonLogPath }, { DaemonRunningError }] = await Promise.all([import('../../app/daemon/launch-daemon.js'), import('../../app/daemon/start-daemon.js')]);
  let record: DaemonRecord;
  try {
    record = await launchDaemon(settings, { home, cwd: io.cwd, env: io.env });
  } catch (error) {
    // Another `batch up` started at the same moment won: its daemon serves, as if it had been first.
    if (error instanceof DaemonRunningError) return alreadyRunning(error.running, home, io);
    throw error;
  }
  // The address alone on stdout, for scripts; the words on stderr.
  io.stdout.write(`${record.url}\n`);
  io.stderr.write(
    `batch: daemon started, pid ${record.pid}, listening on ${record.url} (127.0.0.1 only; clients send the key in ${home}/daemon/daemon.json, mode 0600)\n` +
      `batch: log: ${daemonLogPath(home)}\n` +
      `batch: \`batch run\` and \`batch resume\` in this batch home use it (--no-daemon: not); \`batch ps\` shows it, \`batch down\` stops it\n`,
  );
  return 0;
}

/** A daemon runs in the batch home already: said, its address on stdout, exit 0. */
function alreadyRunning(running: DaemonRecord, home: string, io: CliIo): number {
  io.stderr.write(`batch: a daemon already runs in ${home}: pid ${running.pid} at ${running.url} (since ${new Date(running.startedAt).toLocaleString()}); it keeps its settings: \`batch down\` first to change them. \`batch ps\` shows it.\n`);
  io.stdout.write(`${running.url}\n`);
  return 0;
}

/** Refused before anything starts: a model file that is not there, a --models-dir that is no folder, a port past 65535, a bad --metrics-listen. */
async function checkSettings(settings: DaemonSettings, io: CliIo): Promise<void> {
  const [{ DaemonCatalog }, { parseMetricsAddress }, { optionError }] = await Promise.all([import('../../daemon/daemon-catalog.js'), import('../../reporting/metrics-endpoint.js'), import('../../util/check-option.js')]);
  new DaemonCatalog({ models: settings.models, modelsDir: settings.modelsDir, cwd: io.cwd });
  if (settings.port !== undefined && settings.port > 65_535) throw optionError('--port', 'a TCP port from 0 (any free one) to 65535', settings.port);
  if (settings.metricsListen !== undefined) parseMetricsAddress(settings.metricsListen);
}

async function foreground(settings: DaemonSettings, home: string, io: CliIo): Promise<number> {
  const [{ openDaemonLog }, { runDaemon }, { daemonLogPath }] = await Promise.all([import('../../app/daemon/daemon-log.js'), import('../../app/daemon/run-daemon.js'), import('../../app/daemon/launch-daemon.js')]);
  const logPath = daemonLogPath(home);
  const log = openDaemonLog(logPath, io.stderr);
  // SIGTERM (systemd's stop) and Ctrl-C are how a daemon in the foreground ends: exit 0.
  io.stopEndsNormally?.();
  const reason = await runDaemon(settings, { home, cwd: io.cwd, env: io.env, log, logPath }, { softStop: io.softStop, hardStop: io.hardStop });
  io.stderr.write(`batch: daemon stopped: ${reason}\n`);
  return 0;
}
