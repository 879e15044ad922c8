import type { Backend } from '../backends/backend.js';
import type { ManagedServerOptions, ManagedServerState } from './managed-server.js';
import type { ModelCatalog } from './model-catalog.js';
import type { InspectModel } from './inspect-model.js';
import type { EstimateModelMemory } from './model-memory.js';
import type { ServerLaunch } from './server-launcher.js';

/** What the pool uses of a model server; `ManagedServer` is the real one, tests pass fakes. */
export interface ManagedServerLike {
  readonly state: ManagedServerState;
  /** Where the server answers, once started. */
  readonly url: string | undefined;
  /** Milliseconds from spawn to ready, once ready. */
  readonly loadMs: number | undefined;
  readonly logPath: string | undefined;
  /** The key the server admits; the pool's backend sends it. */
  readonly apiKey: string;
  /** The server's own pid, once spawned (not its reaper's). */
  readonly pid?: number;
  /** Resolves once ready; rejects (and leaves nothing running) when the server cannot start. */
  start(): Promise<void>;
  /** Resolves once the server is gone; a no-op when it never started or has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Makes one model's server. The pool calls it once per start (restarts and reloads make new ones)
 * and expects `options.onExit` to be called when a ready server ends.
 */
export type CreateManagedServer = (options: ManagedServerOptions) => ManagedServerLike;

/** Makes the client of one managed server (src/backends/open-backend.ts `createBackend` fits). */
export type CreateManagedBackend = (type: 'llama-server', options: { readonly url: string; readonly connections: number; readonly apiKey: string }) => Backend | Promise<Backend>;

export interface ModelPoolOptions {
  /** Resolves the model names prompts use to files. */
  readonly catalog: Pick<ModelCatalog, 'resolve'>;
  /**
   * Whether a model's server must stay although it is idle: the daemon's runs inside its group of
   * prompts. A held server is never chosen to make room; a start then waits for one to be free.
   * @default none is held
   */
  readonly isHeld?: (modelId: string) => boolean;
  /** Clock (epoch ms) for idle times, injectable for tests. @default Date.now */
  readonly now?: () => number;
  /** How servers are started. */
  readonly launch: ServerLaunch;
  /** Makes the backend of a started server. */
  readonly createBackend: CreateManagedBackend;
  /** Folder of the server logs. */
  readonly logDir: string;
  /** Models (servers) resident at once; the least recently used idle one is evicted beyond it. @default 2 */
  readonly maxModels?: number;
  /** Parallel requests per server (`-np`), also the backend's connections. The default lives in the settings table. */
  readonly slots: number;
  /**
   * Context per slot, in tokens, capped for each model at its trained context (a notice says so).
   * The default lives in the settings table.
   */
  readonly contextSize: number;
  /**
   * Memory the resident models may use together, in bytes. A model that does not fit beside the
   * resident ones evicts idle ones, least recently used first. @default undefined (count only)
   */
  readonly memoryBudgetBytes?: number;
  /** Estimates a model's memory when `memoryBudgetBytes` is set. @default estimateModelMemory (GGUF size + KV cache) */
  readonly estimateModelMemory?: EstimateModelMemory;
  /** Spawn-to-ready limit of one server. @default 600000 */
  readonly startupTimeoutMs?: number;
  /** SIGTERM-to-SIGKILL grace when a server is stopped or evicted. @default 5000 */
  readonly stopGraceMs?: number;
  /** Restarts of a model's server after crashes; past them its acquires fail with SERVER_CRASHED. @default 3 */
  readonly maxRestarts?: number;
  /** Wait before the first restart, doubled for each further one. @default 1000 */
  readonly restartBackoffMs?: number;
  /** Compiled reaper entry point. @default process-reaper-main.js beside the servers modules */
  readonly reaperScript?: string;
  /** Makes each server. @default (options) => new ManagedServer(options) */
  readonly createServer?: CreateManagedServer;
  /** Reads and checks a model's GGUF header before its first start. @default inspectModel */
  readonly inspectModel?: InspectModel;
  /** The environment servers start in. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Things the user should know (a context capped at the model's trained context). */
  readonly notice?: (line: string) => void;
}

/** A model's server borrowed for requests. Call `release()` exactly once. */
export interface ModelLease {
  readonly backend: Backend;
  /** The model's canonical id (alias, else file name without `.gguf`). */
  readonly model: string;
  /** The server's address and key, for a caller that forwards requests itself (the daemon). */
  readonly server: { readonly url: string; readonly apiKey: string };
  release(): void;
}

/** A model's server as it is now, for `batch ps`. */
export interface ResidentModel {
  readonly model: string;
  readonly path: string;
  /** `loading` while its server starts. */
  readonly state: 'loading' | 'ready';
  /** The server's pid, once spawned. */
  readonly pid?: number;
  /** Requests on it now. */
  readonly inUse: number;
  /** Epoch ms it was last leased or given back (its start, when never). */
  readonly lastUsedAt: number;
  /** Its expected memory (model and context), when a memory budget made the pool estimate it. */
  readonly memoryBytes?: number;
  readonly logPath?: string;
}

/** What `ModelPool.load` did. */
export interface ModelLoad {
  /** The model's canonical id. */
  readonly model: string;
  /** Whether this call started its server (false: it was ready, or another caller started it). */
  readonly started: boolean;
  /** Spawn-to-ready time of the start this call waited for; 0 when the server was ready. */
  readonly loadMs: number;
}

/** What a model cost during this pool's life. */
export interface ModelPoolStats {
  readonly model: string;
  /** Successful server starts. */
  readonly loads: number;
  /** Spawn-to-ready time of those starts, summed. */
  readonly loadMsTotal: number;
  /** Starts after a crash. */
  readonly restarts: number;
  /** Leases handed out. */
  readonly requestsServed: number;
}
