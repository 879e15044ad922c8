import type { Backend } from '../backends/backend.js';
import type { ModelCatalog } from './model-catalog.js';
import type { EstimateModelMemory } from './model-memory.js';
import type { ServerLaunch } from './server-launcher.js';

/** Makes the client of one managed server (src/backends/open-backend.ts `createBackend` fits). */
export type CreateManagedBackend = (type: 'llama-server', options: { readonly url: string; readonly connections: number }) => Backend | Promise<Backend>;

export interface ModelPoolOptions {
  /** Resolves the model names prompts use to files. */
  readonly catalog: ModelCatalog;
  /** How servers are started. */
  readonly launch: ServerLaunch;
  /** Makes the backend of a started server. */
  readonly createBackend: CreateManagedBackend;
  /** Folder of the server logs. */
  readonly logDir: string;
  /** Models (servers) resident at once; the least recently used idle one is evicted beyond it. @default 2 */
  readonly maxModels?: number;
  /** Parallel requests per server (`-np`), also the backend's connections. @default 4 */
  readonly slotsPerServer?: number;
  /** Context size in tokens (`-c`). @default 2048 */
  readonly contextSize?: number;
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
}

/** A model's server borrowed for requests. Call `release()` exactly once. */
export interface ModelLease {
  readonly backend: Backend;
  /** The model's canonical id (alias, else file name without `.gguf`). */
  readonly model: string;
  release(): void;
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
