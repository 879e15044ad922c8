import { closeSync, fstatSync } from 'node:fs';
import { basename } from 'node:path';
import { ServerError } from '../errors.js';
import { checkWholeNumber, optionError } from '../util/check-option.js';
import { findFreePort } from './free-port.js';
import { newServerApiKey, SERVER_API_KEY_VARIABLE } from './server-api-key.js';
import { buildServerCommand, validateServerLaunch, type ServerLaunch } from './server-launcher.js';
import { openServerLog, readLogSince, saysAddressInUse, type ServerLog } from './server-log.js';
import { registerServer, unregisterServer, type RegisteredServer } from './server-registry.js';
import { earlyExitError, startupTimeoutError, type StartErrorContext } from './server-start-errors.js';
import { sendSignal, spawnReaped, type ExitOutcome, type ReapedProcess } from './spawn-reaped.js';
import { waitForHealth } from './wait-for-health.js';
import { warmUpServer } from './warm-up-server.js';
import { defaults } from '../defaults.js';

/** How a managed server ended. */
export interface ServerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when `stop()` (or a failed start) ended it; false for a crash. */
  readonly expected: boolean;
  readonly logPath: string;
}

export type ManagedServerState = 'new' | 'starting' | 'ready' | 'stopping' | 'exited';

export interface ManagedServerOptions {
  /** How to start the server process. */
  readonly launch: ServerLaunch;
  /** Path of the GGUF model to serve. */
  readonly modelPath: string;
  /** Requests the server runs at once (`-np`). The default lives in the settings table. */
  readonly slots: number;
  /** Context size in tokens (`-c`). The default lives in the settings table. */
  readonly contextSize: number;
  /** Folder of the server logs (`<model>-<n>.log`); created when missing. */
  readonly logDir: string;
  /** Time from spawn to ready (health 200 and one warm-up answer). Cold loads of big models take minutes. @default 600000 */
  readonly startupTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping. @default 5000 */
  readonly stopGraceMs?: number;
  /** Spawns tried with fresh ports when the port was taken meanwhile (EADDRINUSE). @default 3 */
  readonly portAttempts?: number;
  /** Called once when the server process is gone after it was ready, `expected: false` for a crash. */
  readonly onExit?: (exit: ServerExit) => void;
  /** The compiled reaper entry point. @default process-reaper-main.js beside this module */
  readonly reaperScript?: string;
  /** Picks the port of each spawn (tests use it to force EADDRINUSE). @default findFreePort */
  readonly choosePort?: () => Promise<number>;
  /** The environment the server starts in (the command's, so `batch` run as a library passes its own). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** One spawn: a server on one port, under its reaper. */
interface Attempt extends ReapedProcess {
  /** Size of the log before this spawn wrote to it. */
  readonly logOffset: number;
  readonly port: number;
}

const REAPER_EXTRA_GRACE_MS = 2000;

/**
 * One model server process, started through the process reaper (so it cannot outlive `batch`),
 * bound to 127.0.0.1 on a free port, and ready only after /health answers 200 and a 1-token
 * warm-up completion succeeds.
 */
export class ManagedServer implements RegisteredServer {
  readonly model: string;
  readonly slots: number;
  readonly contextSize: number;
  readonly exited: Promise<ServerExit>;
  /** The key this server admits (see newServerApiKey), given to it through its environment. */
  readonly apiKey = newServerApiKey();
  #state: ManagedServerState = 'new';
  #url: string | undefined;
  #loadMs: number | undefined;
  #log: ServerLog | undefined;
  #attempt: Attempt | undefined;
  #expectExit = false;
  #resolveExited!: (exit: ServerExit) => void;
  readonly #options: ManagedServerOptions;
  readonly #label: string;

  constructor(options: ManagedServerOptions) {
    validateServerLaunch(options.launch);
    checkWholeNumber('slots', options.slots, 1);
    checkWholeNumber('contextSize', options.contextSize, 1);
    if (options.startupTimeoutMs !== undefined) checkWholeNumber('startupTimeoutMs', options.startupTimeoutMs, 1);
    if (options.stopGraceMs !== undefined) checkWholeNumber('stopGraceMs', options.stopGraceMs, 0);
    if (options.portAttempts !== undefined) checkWholeNumber('portAttempts', options.portAttempts, 1);
    if (typeof options.logDir !== 'string' || options.logDir === '') {
      throw optionError('logDir', 'a folder path', options.logDir);
    }
    this.#options = options;
    this.model = options.modelPath;
    this.slots = options.slots;
    this.contextSize = options.contextSize;
    this.#label = options.launch.kind === 'llama-server' ? 'llama-server' : 'embedded server';
    this.exited = new Promise((resolve) => {
      this.#resolveExited = resolve;
    });
  }

  get state(): ManagedServerState {
    return this.#state;
  }

  /** `http://127.0.0.1:<port>`, once started. */
  get url(): string | undefined {
    return this.#url;
  }

  /** The server's pid (not the reaper's), once spawned. */
  get pid(): number | undefined {
    return this.#attempt?.serverPid;
  }

  /** The reaper's pid, once spawned. */
  get reaperPid(): number | undefined {
    return this.#attempt?.reaper.pid;
  }

  /** Milliseconds from the first spawn to ready. */
  get loadMs(): number | undefined {
    return this.#loadMs;
  }

  get logPath(): string | undefined {
    return this.#log?.path;
  }

  /** Spawns the server and resolves once it is ready; rejects with a ServerError naming the log. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`ManagedServer.start() called in state ${this.#state}; create a new ManagedServer to start again`);
    this.#state = 'starting';
    const startedAt = performance.now();
    const timeoutMs = this.#options.startupTimeoutMs ?? defaults.startupTimeoutMs;
    const deadline = startedAt + timeoutMs;
    let log: ServerLog;
    try {
      log = openServerLog(this.#options.logDir, this.model);
    } catch (error) {
      this.#finish({ code: null, signal: null, expected: true, logPath: '' }, false);
      throw new ServerError('SERVER_NOT_READY', `cannot create the log of the ${this.#label} for model ${basename(this.model)} in ${this.#options.logDir}: ${(error as Error).message}; pass a writable log folder`, error);
    }
    this.#log = log;
    registerServer(this);
    try {
      const attempts = this.#options.portAttempts ?? 3;
      for (let n = 1; ; n += 1) {
        const attempt = await this.#spawn(log);
        const outcome = await waitForHealth({ url: this.#url!, exited: attempt.exited, deadline });
        if (outcome === 'ready') break;
        if (outcome === 'timed out') throw this.#timeoutError(attempt, timeoutMs, 'its /health never answered 200');
        const output = readLogSince(log.path, attempt.logOffset);
        if (saysAddressInUse(output) && n < attempts) continue;
        throw earlyExitError(this.#errorContext(output), outcome, { count: n, lastPort: attempt.port });
      }
      const names = { label: this.#label, modelPath: this.model, logPath: log.path };
      await warmUpServer({ url: this.#url!, apiKey: this.apiKey, attempt: this.#attempt!, deadline, timeoutMs, names });
      this.#loadMs = performance.now() - startedAt;
      this.#state = 'ready';
    } catch (error) {
      await this.#abandon();
      throw error;
    } finally {
      closeSync(log.fd);
    }
  }

  /**
   * Stops the server: SIGTERM to the reaper (which sends it to the server's process group), then
   * SIGKILL to the group after `graceMs` (and to the reaper 2 s later if it is still there).
   * Resolves when it has exited.
   */
  async stop(graceMs: number = this.#options.stopGraceMs ?? 5000): Promise<void> {
    const attempt = this.#attempt;
    if (attempt === undefined || this.#state === 'exited') return;
    if (this.#state !== 'starting') this.#state = 'stopping';
    this.#expectExit = true;
    sendSignal(attempt.reaper.pid, 'SIGTERM');
    // The server group first, so the reaper lives to reap it (a server whose parent died first
    // stays a zombie where pid 1 reaps nothing); the reaper itself only if it hangs on.
    const timers = [
      setTimeout(() => sendSignal(groupOf(attempt.serverPid), 'SIGKILL'), graceMs),
      setTimeout(() => sendSignal(attempt.reaper.pid, 'SIGKILL'), graceMs + REAPER_EXTRA_GRACE_MS),
    ];
    try {
      await attempt.exited;
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
  }

  /**
   * SIGKILL to the server's process group, synchronously (for 'exit' handlers). The reaper is
   * left to reap the server and exit by itself: killed too, it would leave the server a zombie
   * wherever pid 1 reaps nothing. Before the server's pid is known here, the reaper may already
   * have spawned it: it gets SIGTERM, which it passes on to the server's group (SIGKILL would
   * end the reaper alone and leave the server running).
   */
  killSync(): void {
    this.#expectExit = true;
    const attempt = this.#attempt;
    if (attempt?.serverPid !== undefined) sendSignal(groupOf(attempt.serverPid), 'SIGKILL');
    else sendSignal(attempt?.reaper.pid, 'SIGTERM');
  }

  async #spawn(log: ServerLog): Promise<Attempt> {
    const port = await (this.#options.choosePort ?? findFreePort)();
    this.#url = `http://127.0.0.1:${port}`;
    const command = buildServerCommand(this.#options.launch, { modelPath: this.model, port, slots: this.slots, contextSize: this.contextSize });
    const logOffset = fstatSync(log.fd).size;
    const reaped = spawnReaped({
      command: command.command,
      args: command.args,
      graceMs: this.#options.stopGraceMs ?? 5000,
      outputFd: log.fd,
      reaperScript: this.#options.reaperScript,
      // Through the environment, never the command line: `ps` shows arguments to every user.
      env: { ...(this.#options.env ?? process.env), [SERVER_API_KEY_VARIABLE]: this.apiKey },
    });
    const attempt: Attempt = {
      reaper: reaped.reaper,
      exited: reaped.exited,
      get serverPid() {
        return reaped.serverPid;
      },
      logOffset,
      port,
    };
    this.#attempt = attempt;
    void attempt.exited.then((outcome) => this.#onAttemptExit(attempt, outcome));
    return attempt;
  }

  #onAttemptExit(attempt: Attempt, outcome: ExitOutcome): void {
    // A reaper killed from outside (kill -9) leaves its server running, holding the model's
    // memory, with nobody to stop it: stop it here while this process still knows its group.
    if (outcome.signal === 'SIGKILL') sendSignal(groupOf(attempt.serverPid), 'SIGKILL');
    // Failed attempts are reported by start(); only the last one's end is the server's end.
    if (attempt !== this.#attempt || this.#state === 'starting') return;
    const wasReady = this.#state === 'ready' || this.#state === 'stopping';
    this.#finish({ ...outcome, expected: this.#expectExit, logPath: this.#log!.path }, wasReady);
  }

  #finish(exit: ServerExit, report: boolean): void {
    if (this.#state === 'exited') return;
    this.#state = 'exited';
    unregisterServer(this);
    this.#resolveExited(exit);
    if (report) this.#options.onExit?.(exit);
  }

  #errorContext(output: string): StartErrorContext {
    return { label: this.#label, modelPath: this.model, logPath: this.#log!.path, output };
  }

  #timeoutError(attempt: Attempt, timeoutMs: number, what: string): ServerError {
    return startupTimeoutError(this.#errorContext(readLogSince(this.#log!.path, attempt.logOffset)), timeoutMs, what);
  }

  /** After a failed start: stop what runs and settle `exited`. */
  async #abandon(): Promise<void> {
    const attempt = this.#attempt;
    this.#expectExit = true;
    if (attempt !== undefined && attempt.reaper.exitCode === null && attempt.reaper.signalCode === null) {
      await this.stop(Math.min(this.#options.stopGraceMs ?? 5000, 2000));
    }
    const outcome = attempt === undefined ? { code: null, signal: null } : await attempt.exited;
    this.#finish({ ...outcome, expected: true, logPath: this.#log?.path ?? '' }, false);
  }
}

/** The process group a server leads (it was spawned detached), as a kill() target. */
function groupOf(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : -pid;
}
