import type { Backend } from '../backends/backend.js';
import { ModelCatalog } from '../servers/model-catalog.js';
import { ModelPool } from '../servers/model-pool.js';
import { findLlamaServer, type ServerLaunch } from '../servers/server-launcher.js';
import { installServerCleanup } from '../servers/server-registry.js';
import { countPhysicalCores } from '../hardware/physical-cores.js';
import type { OpenedRouter, OpenRouterContext, RouterSettings } from './open-router.js';
import type { ModelLoadStats, RouteLease, Router } from './router.js';

/**
 * Routes through the model pool: servers `batch` starts itself, at most K resident. Each server is
 * asked once which model name it answers to, so prompts may name a model by alias or file name.
 */
class PoolRouter implements Router {
  readonly #pool: ModelPool;
  readonly #servedNames = new WeakMap<Backend, Promise<string | undefined>>();
  readonly capacity: number | undefined;

  constructor(pool: ModelPool, capacity: number) {
    this.#pool = pool;
    this.capacity = capacity;
  }

  async acquire(model: string | undefined): Promise<RouteLease> {
    const lease = await this.#pool.acquire(model);
    try {
      let served = this.#servedNames.get(lease.backend);
      if (served === undefined) {
        served = lease.backend.describe().then((info) => info.models[0], () => undefined);
        this.#servedNames.set(lease.backend, served);
      }
      return { backend: lease.backend, model: (await served) ?? lease.model, release: () => lease.release() };
    } catch (error) {
      lease.release();
      throw error;
    }
  }

  residentModels(): readonly string[] {
    return this.#pool.residentModels();
  }

  loadStats(): readonly ModelLoadStats[] {
    return this.#pool.loadStats().filter((s) => s.loads > 0);
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** Starts nothing yet: servers start on first use, in the scheduler's model order. */
export async function openManagedRouter(settings: RouterSettings, context: OpenRouterContext): Promise<OpenedRouter> {
  let models = settings.models ?? [];
  if (models.length === 0 && settings.modelsDir === undefined) {
    const { resolveDefaultModel } = await import('../models/default-model.js');
    const chosen = await resolveDefaultModel({ env: context.env, log: context.notice });
    if (chosen.notice) context.notice?.(chosen.notice);
    models = [chosen.path];
  }
  const catalog = new ModelCatalog({ models, modelsDir: settings.modelsDir });
  const binary = findLlamaServer(context.env, settings.llamaServer);
  // The embedded server shares the machine with its own Node event loop: see EmbeddedServerOptions.threads.
  const cores = countPhysicalCores();
  const threads = Math.min(settings.threads ?? context.advice?.threads ?? Math.max(1, cores - 1), cores);
  const launch: ServerLaunch = binary
    ? { kind: 'llama-server', binary, gpuLayers: settings.gpuLayers, extraArgs: settings.llamaServerArgs?.split(/\s+/).filter(Boolean) }
    : { kind: 'embedded', threads };
  const slots = settings.slots ?? context.advice?.slots ?? 4;
  const maxModels = settings.maxModels ?? context.advice?.maxModels ?? 2;
  const { createBackend } = await import('../backends/open-backend.js');
  installServerCleanup(process);
  const pool = new ModelPool({
    catalog,
    launch,
    createBackend: (type, options) => createBackend(type, options),
    logDir: context.logDir,
    maxModels,
    slotsPerServer: slots,
    contextSize: settings.contextSize ?? context.advice?.contextSize ?? 2048,
    memoryBudgetBytes: settings.memoryBudgetBytes,
    startupTimeoutMs: settings.startupTimeoutMs,
  });
  context.notice?.(
    `managed ${launch.kind === 'llama-server' ? `llama-server (${launch.binary})` : 'embedded llama.cpp server'}: ${slots} slot(s) per model, at most ${maxModels} model(s) loaded${launch.kind === 'embedded' ? `, ${threads} thread(s)` : ''}; logs in ${context.logDir}`,
  );
  return { router: new PoolRouter(pool, slots), defaultWorkers: slots };
}
