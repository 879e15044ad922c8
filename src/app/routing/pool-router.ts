import type { Backend } from '../../backends/backend.js';
import type { ModelPool } from '../../servers/model-pool.js';
import type { ModelLoadStats, RouteLease, Router } from '../../scheduler/router.js';

/**
 * Routes through the model pool: servers `batch` starts itself, at most K resident. Each server is
 * asked once which model name it answers to, so prompts may name a model by alias or file name.
 */
export class PoolRouter implements Router {
  readonly #pool: ModelPool;
  readonly #servedNames = new WeakMap<Backend, Promise<string | undefined>>();
  readonly capacity: number;

  constructor(pool: ModelPool) {
    this.#pool = pool;
    this.capacity = pool.capacity;
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
