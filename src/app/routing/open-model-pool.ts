import { countPhysicalCores } from '../../hardware/physical-cores.js';
import { ModelCatalog } from '../../servers/model-catalog.js';
import { ModelPool, type ModelPoolOptions } from '../../servers/model-pool.js';
import { chooseServerLaunch, type ServerEngine } from '../../servers/choose-server-launch.js';
import { installServerCleanup } from '../../servers/server-registry.js';
import { backendOptionsOf, type BackendSettings } from './backend-options.js';

/** How `batch` starts and keeps its own model servers: the settings both `run` and `optimize --measure` use. */
export interface ManagedServerSettings extends BackendSettings {
  /** `--model` values (`path` or `alias=path`); the first is the default model. */
  readonly models: readonly string[];
  /** `--models-dir`: where model names used by prompts are looked up. */
  readonly modelsDir?: string;
  /** `--engine`: which server runs the models. @default 'auto' (llama-server when one is found, else the embedded server) */
  readonly engine?: ServerEngine;
  /** `--llama-server`: the binary. @default llama-server on PATH, else the embedded server */
  readonly llamaServer?: string;
  /** `--llama-server-args`: one string, split on white space; '' is none. */
  readonly llamaServerArgs?: string;
  /** `--gpu-layers` (llama-server's `-ngl`, the embedded server's node-llama-cpp `gpuLayers`). @default the server's own */
  readonly gpuLayers?: number;
  /**
   * `--threads`, capped at the physical cores. @default the embedded server: the physical cores
   * less one (it shares the machine with its own event loop); llama-server: its own default
   */
  readonly threads?: number;
  /** `--slots`: requests one server generates at once. */
  readonly slots: number;
  /** `--ctx`: context per slot, in tokens. */
  readonly contextSize: number;
  /** `--max-models`: servers kept running at once. */
  readonly maxModels: number;
  /** `--memory-budget`, in bytes. */
  readonly memoryBudgetBytes?: number;
  /** `--startup-timeout`, in milliseconds. */
  readonly startupTimeoutMs: number;
}

export interface OpenModelPoolContext {
  /** The command's environment: where llama-server is looked up, and what the servers start with. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Folder relative model paths are resolved against. */
  readonly cwd: string;
  /** Folder of the servers' logs. */
  readonly logDir: string;
  readonly notice?: (line: string) => void;
  /** Resolves model names to files. @default a `ModelCatalog` of `settings.models` and `settings.modelsDir` */
  readonly catalog?: ModelPoolOptions['catalog'];
  /** Models the pool must not evict (the daemon's runs inside their groups). @default none */
  readonly isHeld?: ModelPoolOptions['isHeld'];
}

/** A model pool, and what it starts in words for the user. */
export interface OpenedModelPool {
  readonly pool: ModelPool;
  /** e.g. "llama-server (/usr/bin/llama-server)" or "embedded llama.cpp server, 1 thread(s)". */
  readonly description: string;
  /** Which server runs the models. */
  readonly engine: 'embedded' | 'llama-server';
}

/**
 * The one wiring of managed servers: the model catalog, llama-server or the embedded server, its
 * threads, and the pool that keeps at most `maxModels` running. Starts nothing yet: servers start
 * on first use. Stopping them is the caller's `pool.close()`; a process exit stops them too.
 */
export async function openModelPool(settings: ManagedServerSettings, context: OpenModelPoolContext): Promise<OpenedModelPool> {
  const catalog = context.catalog ?? new ModelCatalog({ models: settings.models, modelsDir: settings.modelsDir, cwd: context.cwd });
  // The embedded server shares the machine with its own Node event loop: see EmbeddedServerOptions.threads.
  const cores = countPhysicalCores();
  const threads = Math.min(settings.threads ?? Math.max(1, cores - 1), cores);
  const launch = chooseServerLaunch({ ...settings, embeddedThreads: threads }, context.env);
  const { createBackend } = await import('../../backends/open-backend.js');
  installServerCleanup(process);
  const pool = new ModelPool({
    catalog,
    launch,
    // The run's backend settings (--stream, --stall-timeout) reach managed servers as they reach a fleet.
    createBackend: (type, options) => createBackend(type, { ...backendOptionsOf(settings, options.connections), url: options.url, apiKey: options.apiKey }),
    logDir: context.logDir,
    maxModels: settings.maxModels,
    slots: settings.slots,
    contextSize: settings.contextSize,
    memoryBudgetBytes: settings.memoryBudgetBytes,
    startupTimeoutMs: settings.startupTimeoutMs,
    env: context.env,
    notice: context.notice,
    isHeld: context.isHeld,
  });
  const layers = launch.gpuLayers === undefined ? '' : `, ${launch.gpuLayers} GPU layer(s)`;
  const description = launch.kind === 'llama-server' ? `llama-server (${launch.binary})` : `embedded llama.cpp server, ${threads} thread(s)${layers}`;
  return { pool, description, engine: launch.kind };
}
