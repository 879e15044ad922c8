import path from 'node:path';
import { AppError } from '../../errors.js';
import { AttachedRuns } from '../../daemon/attached-runs.js';
import { DaemonCatalog } from '../../daemon/daemon-catalog.js';
import { claimDaemonRecord, daemonDir, findLiveDaemon, newDaemonKey, processStartTime, readDaemonRecord, updateDaemonRecord, type DaemonRecord } from '../../daemon/daemon-record.js';
import { DaemonServer } from '../../daemon/daemon-server.js';
import type { DaemonListener } from '../../daemon/daemon-listener.js';
import { openModelPool } from '../routing/open-model-pool.js';
import { GpuUsageReader } from '../../hardware/query-gpu-usage.js';
import { daemonHoldMs, housekeepingEveryMs, type DaemonSettings } from './daemon-settings.js';

export interface StartDaemonContext {
  /** The batch home whose runs the daemon serves. */
  readonly home: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The daemon's log (see `openDaemonLog`); its path goes in the record. */
  readonly log: (line: string) => void;
  readonly logPath: string;
}

/** A daemon serving; `stopped` settles once it has stopped, with why. */
export interface RunningDaemon {
  readonly record: DaemonRecord;
  readonly server: DaemonServer;
  /** Stops taking requests, lets those in flight finish for `graceMs`, stops every model server. Idempotent. */
  stop(graceMs: number, reason: string): Promise<void>;
  readonly stopped: Promise<string>;
}

/** How often the model servers' GPU memory is read for `batch ps` (one nvidia-smi each time). */
const vramEveryMs = 5000;

/** A daemon already runs in the batch home: its record, for the message. */
export class DaemonRunningError extends AppError {
  readonly running: DaemonRecord;
  constructor(home: string, running: DaemonRecord) {
    super('USAGE', `a batch daemon already runs in ${home}: pid ${running.pid} at ${running.url} (since ${new Date(running.startedAt).toISOString()}); \`batch ps\` shows it, \`batch down\` stops it`);
    this.running = running;
  }
}

/**
 * Starts the daemon of `context.home` in this process: its model pool (nothing loaded yet: models
 * load on demand), its endpoint on 127.0.0.1, and its record in the batch home (mode 0600). A
 * stale record (its daemon gone) is taken over with its port and key, so runs that were attached
 * to a daemon that died find this one. Refused when a live daemon holds the home.
 */
export async function startDaemon(settings: DaemonSettings, context: StartDaemonContext, listener?: DaemonListener): Promise<RunningDaemon> {
  const { home, log } = context;
  const live = findLiveDaemon(home);
  if (live !== undefined) throw new DaemonRunningError(home, live);
  const previous = readDaemonRecord(home);
  const key = previous?.key ?? newDaemonKey();
  const catalog = new DaemonCatalog({ models: settings.models, modelsDir: settings.modelsDir, cwd: context.cwd });
  const runs = new AttachedRuns({ holdMs: daemonHoldMs });
  const { pool, description } = await openModelPool(settings, { env: context.env, cwd: context.cwd, logDir: path.join(daemonDir(home), 'servers'), notice: log, catalog, isHeld: (model) => runs.holds(model) });
  let stopping: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let resolveStopped!: (reason: string) => void;
  const stopped = new Promise<string>((resolve) => (resolveStopped = resolve));
  const stop = (graceMs: number, reason: string): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(timer);
      log(`stopping: ${reason}; requests in flight may finish for ${Math.round(graceMs / 1000)} s`);
      await server.close(graceMs);
      await pool.close();
      updateDaemonRecord(home, process.pid, (current) => ({ ...current, stoppedAt: Date.now() }));
      log('stopped; every model server it started is stopped');
      resolveStopped(reason);
    })();
    return stopping;
  };
  // Each model server's GPU memory for `batch ps`, read every few seconds where nvidia-smi is.
  const gpu = GpuUsageReader.find(context.env);
  let vram: ReadonlyMap<number, number> = new Map();
  let vramReadAt = 0;
  const server = new DaemonServer({
    pool, catalog, key, runs, listener, log, engine: description, vramOf: (pid) => vram.get(pid),
    slots: settings.slots, contextSize: settings.contextSize, maxModels: settings.maxModels, idleMs: settings.idleMs, exitWhenIdle: settings.exitWhenIdle,
    onShutdown: (graceMs) => void stop(graceMs, 'asked to stop (batch down)'),
  });
  const url = await listenOn(server, settings.port, previous, log).catch(async (error: unknown) => {
    await pool.close();
    throw error;
  });
  const record: DaemonRecord = { pid: process.pid, pidStart: processStartTime(process.pid), url, key, startedAt: Date.now(), logPath: context.logPath, slots: settings.slots };
  const claim = claimDaemonRecord(home, record);
  if (!claim.claimed) {
    await server.close(0);
    await pool.close();
    throw new DaemonRunningError(home, claim.running);
  }
  log(`batch daemon pid ${process.pid} listening on ${url}: ${description}, ${settings.slots} slot(s) × ${settings.contextSize} tokens per model, at most ${settings.maxModels} model(s) loaded, idle models unloaded after ${Math.round(settings.idleMs / 1000)} s`);
  let lastActivity = Date.now();
  timer = setInterval(() => {
    pool.recheck();
    if (gpu !== undefined && Date.now() - vramReadAt >= vramEveryMs && pool.residents().length > 0) {
      vramReadAt = Date.now();
      void gpu.readProcessMemory().then((read) => (vram = read ?? vram));
    }
    void pool.unloadIdle(settings.idleMs).then((unloaded) => {
      for (const model of unloaded) {
        log(`model ${model} unloaded: no request for ${Math.round(settings.idleMs / 1000)} s (--idle)`);
        listener?.onUnload?.(model, 'idle');
      }
    });
    if (server.inFlight > 0 || pool.residents().length > 0) lastActivity = Date.now();
    else if (settings.exitWhenIdle && Date.now() - lastActivity >= settings.idleMs) void stop(0, 'nothing loaded and nothing asked for --idle (--exit-when-idle)');
  }, housekeepingEveryMs);

  return { record, server, stop, stopped };
}

/**
 * Listens on the port asked for; without one, on the last daemon's port, so attached runs find
 * the new daemon where the old one was (a free port when another program took it meanwhile).
 */
async function listenOn(server: DaemonServer, port: number | undefined, previous: DaemonRecord | undefined, log: (line: string) => void): Promise<string> {
  const previousPort = previous === undefined ? undefined : Number(new URL(previous.url).port);
  try {
    return await server.listen(port ?? previousPort ?? 0);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (port === undefined && previousPort !== undefined && code === 'EADDRINUSE') {
      log(`port ${previousPort} of the last daemon is taken by another program: listening on a free port; runs attached to the last daemon will not find this one`);
      return server.listen(0);
    }
    throw new AppError('USAGE', `the daemon cannot listen on 127.0.0.1:${port ?? previousPort}: ${code ?? (error as Error).message}; pass another --port, or --port 0 for any free one`, { cause: error });
  }
}
