import type { Backend } from '../../backends/backend.js';
import type { AppError } from '../../errors.js';
import type { ModelPool } from '../../servers/model-pool.js';
import type { ModelLoadStats, ReleaseVerdict, RouteLease, RouteOutcome, Router } from '../../scheduler/router.js';
import { checkWholeNumber } from '../../util/check-option.js';
import { EndpointHealth, type FailureKind } from './endpoint-health.js';

export interface PoolRouterOptions {
  /**
   * Requests in a row that stall (`--stall-timeout`) or time out (`--timeout`) on one managed
   * server before it is taken for hung (a frozen process, a wedged slot) and restarted like a
   * crashed one. @default 3
   */
  readonly hangThreshold?: number;
  /** Clock (epoch ms), injectable for tests. @default Date.now */
  readonly now?: () => number;
}

/**
 * How a managed server's failed request bears on its health: only a request that got no answer in
 * time says the process may hang. Its 5xx and 4xx are answers (a request's fault, not the
 * process's), and a crash is seen by the pool itself when the process exits.
 */
function hangKind(error: AppError): FailureKind | undefined {
  return error.code === 'STALLED' || error.code === 'REQUEST_TIMEOUT' ? 'failure' : undefined;
}

/**
 * Routes through the model pool: servers `batch` starts itself, at most K resident. Each server is
 * asked once which model name it answers to, so prompts may name a model by alias or file name.
 * Each server has a breaker (EndpointHealth) fed by its requests' outcomes: a server whose
 * requests stall or time out `hangThreshold` times in a row is killed and restarted by the pool,
 * and the requests that fail on it after that cost their prompts no retry.
 */
export class PoolRouter implements Router {
  readonly #pool: ModelPool;
  readonly #servedNames = new WeakMap<Backend, Promise<string | undefined>>();
  /** One breaker per server start: a restarted server has a new backend and a clean record. */
  readonly #health = new WeakMap<Backend, EndpointHealth>();
  readonly #hangThreshold: number;
  readonly #now: () => number;
  readonly capacity: number;

  constructor(pool: ModelPool, options: PoolRouterOptions = {}) {
    this.#pool = pool;
    this.capacity = pool.capacity;
    this.#hangThreshold = checkWholeNumber('hangThreshold', options.hangThreshold ?? 3, 1);
    this.#now = options.now ?? Date.now;
  }

  async acquire(model: string | undefined): Promise<RouteLease> {
    const lease = await this.#pool.acquire(model);
    try {
      let served = this.#servedNames.get(lease.backend);
      if (served === undefined) {
        served = lease.backend.describe().then((info) => info.models[0], () => undefined);
        this.#servedNames.set(lease.backend, served);
      }
      let released = false;
      return {
        backend: lease.backend,
        model: (await served) ?? lease.model,
        release: (outcome?: RouteOutcome): ReleaseVerdict => {
          if (released) return { excused: false };
          released = true;
          lease.release();
          return this.#learn(lease.backend, lease.model, outcome);
        },
      };
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

  /** What a request's end says about its server; a server found hung is restarted. */
  #learn(backend: Backend, model: string, outcome: RouteOutcome | undefined): ReleaseVerdict {
    // Not sent (stopped while waiting): says nothing about the server.
    if (outcome === undefined) return { excused: false };
    let health = this.#health.get(backend);
    if (health === undefined) {
      health = new EndpointHealth({ failureThreshold: this.#hangThreshold, failureKind: hangKind });
      this.#health.set(backend, health);
    }
    if (outcome.error === undefined) {
      health.recordAnswer();
      return { excused: false };
    }
    // Found hung and killed: whatever its other requests meet now (a reset) is not their prompts' fault.
    if (health.state === 'open') return { excused: true };
    const verdict = health.recordFailure(outcome.error, this.#now());
    if (verdict.opened) {
      const how = outcome.error.code === 'STALLED' ? 'got no byte within --stall-timeout' : 'got no answer within --timeout';
      void this.#pool.recycle(backend, `${this.#hangThreshold} request(s) of model ${model} in a row ${how}`).catch(() => undefined);
    }
    return { excused: verdict.excused };
  }
}
