import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ServerError, UsageError } from '../errors.js';
import { resolveCompiledScript } from './compiled-script.js';
import { findFreePort } from './free-port.js';
import { requestLocal } from './local-http.js';
import { buildServerCommand, validateServerLaunch, type ServerLaunch } from './server-launcher.js';
import { findErrorEvent, lastLines, openServerLog, readLogSince, saysAddressInUse, type ServerLog } from './server-log.js';
import { registerServer, unregisterServer, type RegisteredServer } from './server-registry.js';

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
  /** Requests the server runs at once (`-np`). @default 1 */
  readonly slots?: number;
  /** Context size in tokens (`-c`). @default 4096 */
  readonly contextSize?: number;
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
}

interface Attempt {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly logOffset: number;
  readonly port: number;
}

type ExitOutcome = { readonly code: number | null; readonly signal: NodeJS.Signals | null };

const HEALTH_POLL_TIMEOUT_MS = 2000;
const FIRST_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 500;
const LOG_LINES_IN_ERRORS = 5;

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
  #state: ManagedServerState = 'new';
  #url: string | undefined;
  #pid: number | undefined;
  #loadMs: number | undefined;
  #log: ServerLog | undefined;
  #attempt: Attempt | undefined;
  #expectExit = false;
  #resolveExited!: (exit: ServerExit) => void;
  readonly #options: ManagedServerOptions;
  readonly #label: string;

  constructor(options: ManagedServerOptions) {
    validateServerLaunch(options.launch);
    checkInteger('slots', options.slots, 1);
    checkInteger('contextSize', options.contextSize, 1);
    checkInteger('startupTimeoutMs', options.startupTimeoutMs, 1);
    checkInteger('stopGraceMs', options.stopGraceMs, 0);
    checkInteger('portAttempts', options.portAttempts, 1);
    if (typeof options.logDir !== 'string' || options.logDir === '') {
      throw new UsageError(`expected \`logDir\` to be a folder path, got ${JSON.stringify(options.logDir)}`);
    }
    this.#options = options;
    this.model = options.modelPath;
    this.slots = options.slots ?? 1;
    this.contextSize = options.contextSize ?? 4096;
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
    return this.#pid;
  }

  /** The reaper's pid, once spawned. */
  get reaperPid(): number | undefined {
    return this.#attempt?.child.pid;
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
    const timeoutMs = this.#options.startupTimeoutMs ?? 600_000;
    const deadline = startedAt + timeoutMs;
    const log = openServerLog(this.#options.logDir, this.model);
    this.#log = log;
    registerServer(this);
    try {
      const attempts = this.#options.portAttempts ?? 3;
      for (let n = 1; ; n += 1) {
        const attempt = await this.#spawn(log);
        const outcome = await this.#waitForHealth(attempt, deadline, timeoutMs);
        if (outcome === 'ready') break;
        const output = readLogSince(log.path, attempt.logOffset);
        if (saysAddressInUse(output) && n < attempts) continue;
        throw this.#earlyExitError(outcome, output, attempt.port, n);
      }
      await this.#warmUp(this.#attempt!, deadline, timeoutMs);
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
   * SIGKILL to both after `graceMs`. Resolves when it has exited.
   */
  async stop(graceMs: number = this.#options.stopGraceMs ?? 5000): Promise<void> {
    const attempt = this.#attempt;
    if (attempt === undefined || this.#state === 'exited') return;
    if (this.#state !== 'starting') this.#state = 'stopping';
    this.#expectExit = true;
    signal(attempt.child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      signal(this.#pid === undefined ? undefined : -this.#pid, 'SIGKILL');
      signal(attempt.child.pid, 'SIGKILL');
    }, graceMs);
    try {
      await attempt.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  killSync(): void {
    this.#expectExit = true;
    signal(this.#pid === undefined ? undefined : -this.#pid, 'SIGKILL');
    signal(this.#attempt?.child.pid, 'SIGKILL');
  }

  async #spawn(log: ServerLog): Promise<Attempt> {
    const port = await (this.#options.choosePort ?? findFreePort)();
    this.#url = `http://127.0.0.1:${port}`;
    this.#pid = undefined;
    const command = buildServerCommand(this.#options.launch, { modelPath: this.model, port, slots: this.slots, contextSize: this.contextSize });
    const reaper = this.#options.reaperScript ?? resolveCompiledScript('process-reaper-main.js');
    const grace = String(this.#options.stopGraceMs ?? 5000);
    const logOffset = fstatSync(log.fd).size;
    // The reaper gets a group of its own, so a Ctrl-C in the terminal does not stop servers
    // behind batch's back; its stdin is the pipe whose end (batch died) makes it stop the server.
    const child = spawn(process.execPath, [reaper, '--grace-ms', grace, '--report-fd', '3', '--', command.command, ...command.args], {
      detached: true,
      stdio: ['pipe', log.fd, log.fd, 'pipe'],
    });
    child.stdin?.on('error', () => undefined);
    const exited = new Promise<ExitOutcome>((resolve) => {
      child.once('exit', (code, sig) => resolve({ code, signal: sig }));
      child.once('error', () => resolve({ code: null, signal: null }));
    });
    const report = child.stdio[3] as Readable | null;
    if (report) {
      createInterface({ input: report }).on('line', (line) => {
        try {
          const event = JSON.parse(line) as { event?: unknown; pid?: unknown };
          if (event.event === 'spawned' && typeof event.pid === 'number') this.#pid = event.pid;
        } catch {
          // Only the reaper writes here.
        }
      });
    }
    const attempt: Attempt = { child, exited, logOffset, port };
    this.#attempt = attempt;
    void exited.then((outcome) => this.#onAttemptExit(attempt, outcome));
    return attempt;
  }

  #onAttemptExit(attempt: Attempt, outcome: ExitOutcome): void {
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

  /** Resolves 'ready' on health 200, or how the process ended; throws on timeout. */
  async #waitForHealth(attempt: Attempt, deadline: number, timeoutMs: number): Promise<'ready' | ExitOutcome> {
    const exited = attempt.exited.then((outcome) => ({ exit: outcome }));
    let backoffMs = FIRST_BACKOFF_MS;
    for (;;) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw this.#timeoutError(timeoutMs, 'its /health never answered 200');
      const probe = requestLocal(`${this.#url}/health`, { timeoutMs: Math.min(HEALTH_POLL_TIMEOUT_MS, remaining) }).then(
        (res) => ({ status: res.statusCode }),
        () => ({ status: 0 }),
      );
      const first = await Promise.race([exited, probe]);
      if ('exit' in first) return first.exit;
      if (first.status === 200) return 'ready';
      // 503: loading; 0: not listening yet. Both mean wait.
      const waited = await Promise.race([exited, delay(Math.min(backoffMs, Math.max(1, deadline - performance.now())))]);
      if (waited !== undefined) return waited.exit;
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    }
  }

  async #warmUp(attempt: Attempt, deadline: number, timeoutMs: number): Promise<void> {
    const remaining = deadline - performance.now();
    if (remaining <= 0) throw this.#timeoutError(timeoutMs, 'it had no time left for the warm-up request');
    const answer = requestLocal(`${this.#url}/v1/chat/completions`, {
      method: 'POST',
      json: { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1, temperature: 0 },
      timeoutMs: remaining,
    }).then(
      (res) => ({ res }),
      (error: Error) => ({ error }),
    );
    const first = await Promise.race([attempt.exited.then((exit) => ({ exit })), answer]);
    if ('exit' in first) throw this.#earlyExitError(first.exit, readLogSince(this.#log!.path, attempt.logOffset), attempt.port, 1);
    if ('error' in first) {
      if (performance.now() >= deadline) throw this.#timeoutError(timeoutMs, 'its warm-up request did not finish');
      throw new ServerError('SERVER_NOT_READY', `${this.#label} for model ${basename(this.model)} on ${this.#url} failed its warm-up request (${first.error.message}); see ${this.#log!.path}`, first.error);
    }
    if (first.res.statusCode !== 200) {
      throw new ServerError(
        'SERVER_NOT_READY',
        `${this.#label} for model ${basename(this.model)} on ${this.#url} answered its warm-up request with status ${first.res.statusCode}: ${first.res.body.slice(0, 300)}; see ${this.#log!.path}`,
      );
    }
  }

  #earlyExitError(outcome: ExitOutcome, output: string, port: number, attempts: number): ServerError {
    const event = findErrorEvent(output);
    if (event?.code === 'MODEL_INVALID') return new ServerError('MODEL_INVALID', event.message);
    const how = outcome.signal !== null ? `was killed by ${outcome.signal}` : `exited with code ${String(outcome.code)}`;
    const retried = attempts > 1 ? ` (after ${attempts} tries with fresh ports; the last was ${port})` : '';
    const tail = lastLines(output, LOG_LINES_IN_ERRORS);
    const last = tail.length === 0 ? ' It printed nothing.' : `\nLast lines:\n  ${tail.join('\n  ')}`;
    return new ServerError('SERVER_NOT_READY', `${this.#label} for model ${basename(this.model)} ${how} before it was ready${retried}; see ${this.#log!.path}.${last}`);
  }

  #timeoutError(timeoutMs: number, what: string): ServerError {
    const tail = lastLines(readLogSince(this.#log!.path, this.#attempt?.logOffset ?? 0), LOG_LINES_IN_ERRORS);
    const last = tail.length === 0 ? '' : `\nLast lines:\n  ${tail.join('\n  ')}`;
    return new ServerError(
      'SERVER_NOT_READY',
      `${this.#label} for model ${basename(this.model)} was not ready after the startup timeout of ${timeoutMs} ms (${what}); raise the startup timeout if the model is large, and see ${this.#log!.path}.${last}`,
    );
  }

  /** After a failed start: stop what runs and settle `exited`. */
  async #abandon(): Promise<void> {
    const attempt = this.#attempt;
    this.#expectExit = true;
    if (attempt !== undefined && attempt.child.exitCode === null && attempt.child.signalCode === null) {
      await this.stop(Math.min(this.#options.stopGraceMs ?? 5000, 2000));
    }
    const outcome = attempt === undefined ? { code: null, signal: null } : await attempt.exited;
    this.#finish({ ...outcome, expected: true, logPath: this.#log?.path ?? '' }, false);
  }
}

function signal(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, sig);
  } catch {
    // ESRCH: already gone.
  }
}

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms));
}

function checkInteger(name: string, value: number | undefined, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min)) {
    throw new UsageError(`expected \`${name}\` to be an integer >= ${min}, got ${String(value)}`);
  }
}
