// Long file: starting, evicting, restarting and leasing act on the same entries and waiters;
// split apart, each would need the pool's private state handed to it.
import type { Backend } from '../backends/backend.js';
import { AppError, ServerError } from '../errors.js';
import { checkWholeNumber, optionError } from '../util/check-option.js';
import { ManagedServer, type ServerExit } from './managed-server.js';
import type { ResolvedModel } from './model-catalog.js';
import { estimateModelMemory, modelTooLargeError, type ModelMemoryEstimate } from './model-memory.js';
import { inspectModel } from './inspect-model.js';
import type { GgufInfo } from '../models/gguf-reader.js';
import type { CreateManagedServer, ManagedServerLike, ModelLease, ModelLoad, ModelPoolOptions, ModelPoolStats, ResidentModel } from './model-pool-options.js';
import { defaults } from '../defaults.js';

export type { CreateManagedBackend, CreateManagedServer, ManagedServerLike, ModelLease, ModelLoad, ModelPoolOptions, ModelPoolStats, ResidentModel } from './model-pool-options.js';

const createManagedServer: CreateManagedServer = (options) => new ManagedServer(options);

interface Resident {
  readonly server: ManagedServerLike;
  readonly backend: Backend;
  readonly memoryBytes: number;
  inUse: number;
  leases: number;
  lastUsed: number;
  /** Epoch ms of the last lease or release (its start, when never). */
  lastUsedAt: number;
  stopping: boolean;
}

interface Entry {
  readonly model: ResolvedModel;
  resident: Resident | undefined;
  starting: Promise<void> | undefined;
  /** Counted as resident from reservation until its start ends. */
  launching: boolean;
  estimate: ModelMemoryEstimate | undefined;
  /** The model's GGUF header, read and checked before its first start. */
  info: GgufInfo | undefined;
  cappedNoticeGiven: boolean;
  /** The server whose start is in progress, so that close() can stop it. */
  startingServer: ManagedServerLike | undefined;
  failure: AppError | undefined;
  crashes: number;
  lastCrash: ServerExit | undefined;
  /** Why the pool itself killed the last server it counted as crashed (it hung), if it did. */
  lastRecycle: string | undefined;
  loads: number;
  loadMsTotal: number;
  restarts: number;
  requestsServed: number;
}

/**
 * Keeps up to `maxModels` model servers running, starting them on demand and evicting the least
 * recently used idle one to make room (by count, and by memory when a budget is set).
 * Concurrent acquires of one model share one start. A server that crashes is restarted by the
 * next acquire, with backoff, at most `maxRestarts` times.
 */
export class ModelPool {
  readonly #options: ModelPoolOptions;
  readonly #maxModels: number;
  readonly #slots: number;
  readonly #contextSize: number;
  readonly #maxRestarts: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  #waiters: Array<() => void> = [];
  #clock = 0;
  #closed = false;

  constructor(options: ModelPoolOptions) {
    if (options.maxModels !== undefined) checkWholeNumber('maxModels', options.maxModels, 1);
    checkWholeNumber('slots', options.slots, 1);
    checkWholeNumber('contextSize', options.contextSize, 1);
    if (options.maxRestarts !== undefined) checkWholeNumber('maxRestarts', options.maxRestarts, 0);
    if (options.restartBackoffMs !== undefined) checkWholeNumber('restartBackoffMs', options.restartBackoffMs, 0);
    if (options.memoryBudgetBytes !== undefined && !(Number.isFinite(options.memoryBudgetBytes) && options.memoryBudgetBytes > 0)) {
      throw optionError('memoryBudgetBytes', 'a number of bytes > 0', options.memoryBudgetBytes);
    }
    if (typeof options.createBackend !== 'function') {
      throw optionError('createBackend', 'a function', options.createBackend);
    }
    if (options.createServer !== undefined && typeof options.createServer !== 'function') {
      throw optionError('createServer', 'a function', options.createServer);
    }
    this.#options = options;
    this.#maxModels = options.maxModels ?? defaults.maxModels;
    this.#slots = options.slots;
    this.#contextSize = options.contextSize;
    this.#maxRestarts = options.maxRestarts ?? 3;
    this.#now = options.now ?? Date.now;
  }

  /** Requests one model's server runs at once. */
  get capacity(): number {
    return this.#slots;
  }

  /**
   * A running server for `model` (undefined: the default model), started if needed. Waits while
   * it loads, or until a resident server is idle when `maxModels` are in use. Rejects with a
   * ServerError when the model cannot be served (MODEL_NOT_FOUND, MODEL_INVALID, MODEL_TOO_LARGE,
   * SERVER_NOT_READY, SERVER_CRASHED past the restart budget); that fails only its prompts.
   */
  async acquire(model: string | undefined): Promise<ModelLease> {
    this.#assertOpen(model);
    const entry = this.#entryFor(this.#options.catalog.resolve(model));
    const { resident } = await this.#ready(entry, model);
    return this.#lease(entry, resident);
  }

  /**
   * Makes sure `model`'s server runs, starting it if need be, without taking a slot: what the
   * daemon does for a run before its first request of a model. Rejects as `acquire` does.
   */
  async load(model: string | undefined): Promise<ModelLoad> {
    this.#assertOpen(model);
    const entry = this.#entryFor(this.#options.catalog.resolve(model));
    const { resident, started, waited } = await this.#ready(entry, model);
    return { model: entry.model.id, started, loadMs: waited ? (resident.server.loadMs ?? 0) : 0 };
  }

  /**
   * `entry`'s ready server, once it is: `started` when this call started it, `waited` when it
   * waited for a start (its own or another caller's).
   */
  async #ready(entry: Entry, model: string | undefined): Promise<{ readonly resident: Resident; readonly started: boolean; readonly waited: boolean }> {
    let started = false;
    let waited = false;
    for (;;) {
      this.#assertOpen(model);
      if (entry.failure !== undefined) throw entry.failure;
      const resident = entry.resident;
      if (resident !== undefined && !resident.stopping && resident.server.state === 'ready') return { resident, started, waited };
      if (resident?.stopping) {
        await this.#nextChange();
        continue;
      }
      if (entry.starting === undefined) {
        started = true;
        entry.starting = this.#start(entry).finally(() => {
          entry.starting = undefined;
        });
      }
      waited = true;
      await entry.starting;
    }
  }

  /**
   * Whether `model`'s server takes requests now: `ready`; `loading` (starting, or waiting for room);
   * `failed` with the error its prompts fail with; `idle` (not running). Throws MODEL_NOT_FOUND.
   */
  modelState(model: string | undefined): { readonly model: string; readonly state: 'ready' | 'loading' | 'idle' } | { readonly model: string; readonly state: 'failed'; readonly error: AppError } {
    const resolved = this.#options.catalog.resolve(model);
    const entry = this.#entries.get(resolved.path);
    const id = entry?.model.id ?? resolved.id;
    if (entry === undefined) return { model: id, state: 'idle' };
    if (entry.failure !== undefined) return { model: id, state: 'failed', error: entry.failure };
    const resident = entry.resident;
    if (resident !== undefined && !resident.stopping && resident.server.state === 'ready') return { model: id, state: 'ready' };
    return { model: id, state: entry.starting !== undefined ? 'loading' : 'idle' };
  }

  /** Every model with a server running or starting, for `batch ps`. */
  residents(): readonly ResidentModel[] {
    const rows: ResidentModel[] = [];
    for (const entry of this.#entries.values()) {
      const resident = entry.resident;
      const server = resident?.server ?? entry.startingServer;
      if (server === undefined || resident?.stopping === true) continue;
      rows.push({
        model: entry.model.id,
        path: entry.model.path,
        state: resident === undefined ? 'loading' : 'ready',
        pid: server.pid,
        inUse: resident?.inUse ?? 0,
        lastUsedAt: resident?.lastUsedAt ?? this.#now(),
        memoryBytes: resident?.memoryBytes || entry.estimate?.totalBytes,
        logPath: server.logPath,
      });
    }
    return rows;
  }

  /**
   * Stops the servers idle (no request on them, not held) for `idleMs` or longer; resolves with
   * the ids of the models unloaded.
   */
  async unloadIdle(idleMs: number): Promise<readonly string[]> {
    const now = this.#now();
    const idle = [...this.#entries.values()].filter((entry) => {
      const resident = entry.resident;
      return resident !== undefined && !resident.stopping && resident.inUse === 0 && now - resident.lastUsedAt >= idleMs && this.#options.isHeld?.(entry.model.id) !== true;
    });
    await Promise.all(idle.map((entry) => this.#evict(entry, entry.resident!)));
    return idle.map((entry) => entry.model.id);
  }

  /** Wakes starts waiting for room: a hold (`isHeld`) ended. */
  recheck(): void {
    this.#notify();
  }

  /** Ids of the models whose servers are ready, most recently used first. */
  residentModels(): readonly string[] {
    return [...this.#entries.values()]
      .filter((entry) => entry.resident !== undefined && !entry.resident.stopping && entry.resident.server.state === 'ready')
      .sort((a, b) => b.resident!.lastUsed - a.resident!.lastUsed)
      .map((entry) => entry.model.id);
  }

  /** Per model: loads, load time, restarts, leases. */
  stats(): readonly ModelPoolStats[] {
    return [...this.#entries.values()].map((entry) => ({
      model: entry.model.id,
      loads: entry.loads,
      loadMsTotal: entry.loadMsTotal,
      restarts: entry.restarts,
      requestsServed: entry.requestsServed,
    }));
  }

  /** Loads per model in the shape of the scheduler's `Router.loadStats()`. */
  loadStats(): ReadonlyArray<{ readonly model: string; readonly loads: number; readonly loadMs: number }> {
    return this.stats().map((stat) => ({ model: stat.model, loads: stat.loads, loadMs: stat.loadMsTotal }));
  }

  /** Stops every server (after starts in progress end) and fails waiting acquires. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#notify();
    // A server still loading is stopped now rather than awaited: a cold load can take minutes.
    await Promise.allSettled([...this.#entries.values()].map((entry) => entry.startingServer?.stop(this.#options.stopGraceMs)));
    await Promise.allSettled([...this.#entries.values()].map((entry) => entry.starting));
    await Promise.allSettled(
      [...this.#entries.values()].map(async (entry) => {
        if (entry.resident !== undefined) await this.#evict(entry, entry.resident);
      }),
    );
  }

  #entryFor(model: ResolvedModel): Entry {
    let entry = this.#entries.get(model.path);
    if (entry === undefined) {
      entry = {
        model, resident: undefined, starting: undefined, launching: false, estimate: undefined, info: undefined, cappedNoticeGiven: false, startingServer: undefined, failure: undefined,
        crashes: 0, lastCrash: undefined, lastRecycle: undefined, loads: 0, loadMsTotal: 0, restarts: 0, requestsServed: 0,
      };
      this.#entries.set(model.path, entry);
    }
    return entry;
  }

  async #start(entry: Entry): Promise<void> {
    if (entry.crashes > this.#maxRestarts) {
      const crash = entry.lastCrash;
      const how = entry.lastRecycle ?? (crash?.signal != null ? `was killed by ${crash.signal}` : `exited with code ${String(crash?.code)}`);
      entry.failure = new ServerError(
        'SERVER_CRASHED',
        `the server of model ${entry.model.id} crashed ${entry.crashes} times (the last ${how}); it was restarted ${this.#maxRestarts} times, the limit; see ${crash?.logPath ?? 'its log'}`,
      );
      throw entry.failure;
    }
    if (entry.info === undefined) {
      try {
        entry.info = await (this.#options.inspectModel ?? inspectModel)(entry.model.path);
      } catch (error) {
        entry.failure = error instanceof AppError ? error : new ServerError('MODEL_INVALID', `cannot read model ${entry.model.path}: ${(error as Error).message}`, error);
        throw entry.failure;
      }
    }
    const shape = { slots: this.#slots, contextSize: this.#contextFor(entry) };
    const budget = this.#options.memoryBudgetBytes;
    let memoryBytes = 0;
    if (budget !== undefined) {
      try {
        entry.estimate ??= await (this.#options.estimateModelMemory ?? estimateModelMemory)(entry.model.path, shape);
      } catch (error) {
        entry.failure = error instanceof AppError ? error : new ServerError('MODEL_INVALID', `cannot estimate the memory of model ${entry.model.path}: ${(error as Error).message}`, error);
        throw entry.failure;
      }
      memoryBytes = entry.estimate.totalBytes;
      if (memoryBytes > budget) throw (entry.failure = modelTooLargeError(entry.model.path, entry.estimate, shape, budget));
    }
    const restart = entry.crashes > 0;
    if (restart) await delay((this.#options.restartBackoffMs ?? 1000) * 2 ** (entry.crashes - 1));
    await this.#makeRoom(entry, memoryBytes);
    entry.launching = true;
    if (restart) entry.restarts += 1;
    const server = (this.#options.createServer ?? createManagedServer)({
      launch: this.#options.launch,
      modelPath: entry.model.path,
      slots: this.#slots,
      contextSize: shape.contextSize,
      logDir: this.#options.logDir,
      env: this.#options.env,
      startupTimeoutMs: this.#options.startupTimeoutMs,
      stopGraceMs: this.#options.stopGraceMs,
      reaperScript: this.#options.reaperScript,
      onExit: (exit) => this.#onServerExit(entry, server, exit),
    });
    entry.startingServer = server;
    try {
      await server.start();
      this.#assertOpen(entry.model.id);
      const backend = await this.#options.createBackend('llama-server', { url: server.url!, connections: this.#slots, apiKey: server.apiKey });
      entry.resident = { server, backend, memoryBytes, inUse: 0, leases: 0, lastUsed: ++this.#clock, lastUsedAt: this.#now(), stopping: false };
      entry.loads += 1;
      entry.loadMsTotal += server.loadMs ?? 0;
    } catch (error) {
      await server.stop();
      // Stopped by close(): an interruption for whoever waited, not a failure of the model.
      this.#assertOpen(entry.model.id);
      entry.failure = error instanceof AppError ? error : new ServerError('SERVER_NOT_READY', (error as Error).message, error);
      throw error;
    } finally {
      entry.startingServer = undefined;
      entry.launching = false;
      this.#notify();
    }
  }

  /** Evicts idle servers, least recently used first, until `entry` fits; waits while none is idle. */
  async #makeRoom(entry: Entry, memoryBytes: number): Promise<void> {
    const budget = this.#options.memoryBudgetBytes;
    for (;;) {
      this.#assertOpen(entry.model.id);
      const occupied = [...this.#entries.values()].filter((other) => other !== entry && (other.resident !== undefined || other.launching));
      const usedBytes = occupied.reduce((sum, other) => sum + (other.resident?.memoryBytes ?? other.estimate?.totalBytes ?? 0), 0);
      if (occupied.length < this.#maxModels && (budget === undefined || usedBytes + memoryBytes <= budget)) return;
      const victim = occupied
        .filter((other) => other.resident !== undefined && !other.resident.stopping && other.resident.inUse === 0 && other.resident.leases > 0 && this.#options.isHeld?.(other.model.id) !== true)
        .sort((a, b) => a.resident!.lastUsed - b.resident!.lastUsed)[0];
      if (victim === undefined) await this.#nextChange();
      else await this.#evict(victim, victim.resident!);
    }
  }

  async #evict(entry: Entry, resident: Resident, graceMs = this.#options.stopGraceMs): Promise<void> {
    resident.stopping = true;
    try {
      await resident.server.stop(graceMs);
      await resident.backend.close().catch(() => undefined);
    } finally {
      if (entry.resident === resident) entry.resident = undefined;
      this.#notify();
    }
  }

  /**
   * Kills the server behind `backend`, which is alive but hung (its requests stall, `reason` says
   * how), and counts it as a crash: the next acquire restarts it with backoff, within
   * `maxRestarts`. Its requests in flight fail and are retried on the new server. A no-op when that
   * server is already gone or going.
   */
  async recycle(backend: Backend, reason: string): Promise<void> {
    const entry = [...this.#entries.values()].find((e) => e.resident?.backend === backend);
    const resident = entry?.resident;
    if (entry === undefined || resident === undefined || resident.stopping || this.#closed) return;
    entry.crashes += 1;
    entry.lastRecycle = `was killed because it hung: ${reason}`;
    this.#options.notice?.(`the server of model ${entry.model.id} hangs (${reason}): killing it; it restarts for the next request (log: ${resident.server.logPath ?? 'none'})`);
    // A frozen process ignores SIGTERM until it runs again: kill it at once.
    await this.#evict(entry, resident, 0);
  }

  #onServerExit(entry: Entry, server: ManagedServerLike, exit: ServerExit): void {
    const resident = entry.resident;
    if (exit.expected || resident === undefined || resident.server !== server) return;
    // Requests in flight fail at the transport level and the scheduler retries them; the next
    // acquire restarts the server.
    entry.resident = undefined;
    entry.crashes += 1;
    entry.lastCrash = exit;
    entry.lastRecycle = undefined;
    void resident.backend.close().catch(() => undefined);
    this.#notify();
  }

  #lease(entry: Entry, resident: Resident): ModelLease {
    resident.inUse += 1;
    resident.leases += 1;
    resident.lastUsed = ++this.#clock;
    resident.lastUsedAt = this.#now();
    entry.requestsServed += 1;
    let released = false;
    return {
      backend: resident.backend,
      model: entry.model.id,
      server: { url: resident.server.url!, apiKey: resident.server.apiKey },
      release: () => {
        if (released) return;
        released = true;
        resident.inUse -= 1;
        resident.lastUsed = ++this.#clock;
        resident.lastUsedAt = this.#now();
        this.#notify();
      },
    };
  }

  /** The context each slot of `entry`'s server gets: the asked one, at most the model's trained context. */
  #contextFor(entry: Entry): number {
    const trained = entry.info?.contextLength;
    if (trained === undefined || trained <= 0 || trained >= this.#contextSize) return this.#contextSize;
    if (!entry.cappedNoticeGiven) {
      entry.cappedNoticeGiven = true;
      this.#options.notice?.(`model ${entry.model.id}: ${trained} tokens of context per slot, its trained context (asked for ${this.#contextSize}; a longer context only degrades it)`);
    }
    return trained;
  }

  #nextChange(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #assertOpen(model: string | undefined): void {
    if (this.#closed) {
      throw new AppError('INTERRUPTED', `the model pool was closed while model ${model ?? '(default)'} was wanted; resume the job to finish it`);
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
