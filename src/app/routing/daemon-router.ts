import { AppError, BackendError } from '../../errors.js';
import type { DaemonLoad } from '../../daemon/daemon-client.js';
import type { DaemonStatus } from '../../daemon/daemon-status.js';
import type { ResolvedModel } from '../../servers/model-catalog.js';
import type { AcquireOptions, ModelLoadStats, RouteLease, RouteOutcome, Router } from '../../scheduler/router.js';

/** What the router asks of the daemon: to load a model file, and what it runs (a `DaemonClient` fits). */
export interface DaemonLoader {
  load(path: string, alias: string | undefined): Promise<DaemonLoad>;
  status(): Promise<DaemonStatus>;
}

/** How long a load may take before the run looks at why (room taken by other runs' models). */
const slowLoadMs = 5000;

export interface DaemonRouterOptions {
  /** The daemon's endpoint as a fleet of one: waits while the daemon is down, up to `--max-down`. */
  readonly endpoint: Router;
  readonly daemon: DaemonLoader;
  /** The run's models (`--model`, `--models-dir`, the default model): names to files. */
  readonly resolve: (model: string | undefined) => ResolvedModel;
  readonly notice?: (line: string) => void;
}

/**
 * Routes a run's prompts through the daemon of its batch home (`batch up`). Before a model's first
 * request it asks the daemon to load the model's file (a no-op when it is loaded: the model was
 * kept warm since an earlier run), and sends the file's path as the request's model, as a run does
 * to a llama-server it starts itself. When the daemon goes away, requests wait as for a fleet whose
 * servers are all down (the run pauses, `--max-down` bounds it), and the daemon `batch up` starts
 * again in the same batch home (same address and key) is asked to load the model again.
 */
export class DaemonRouter implements Router {
  readonly #options: DaemonRouterOptions;
  /** Per model file: its load in the daemon, asked once until a request finds it unloaded. */
  readonly #loaded = new Map<string, Promise<DaemonLoad>>();
  readonly #loads = new Map<string, { loads: number; loadMs: number }>();

  constructor(options: DaemonRouterOptions) {
    this.#options = options;
  }

  get capacity(): number | undefined {
    return this.#options.endpoint.capacity;
  }

  async acquire(model: string | undefined, options?: AcquireOptions): Promise<RouteLease> {
    const resolved = this.#options.resolve(model);
    for (;;) {
      const lease = await this.#options.endpoint.acquire(undefined, options);
      try {
        await this.#load(resolved);
      } catch (error) {
        // The daemon went away: the endpoint learns it is down, and the next acquire waits for it.
        if (error instanceof BackendError && error.retryable) {
          lease.release({ error });
          continue;
        }
        lease.release();
        throw error;
      }
      return {
        backend: lease.backend,
        model: resolved.path,
        release: (outcome?: RouteOutcome) => {
          // 503 "Loading model": a daemon started again, or the model was unloaded; asked to load it before the next request.
          if (outcome?.error instanceof BackendError && outcome.error.statusCode === 503) this.#loaded.delete(resolved.path);
          return lease.release(outcome);
        },
      };
    }
  }

  /**
   * Asks the daemon now for `model` (undefined: the run's default), before the first prompt needs
   * it: the load's round trip (or the load itself) overlaps the run's start. A failure is met
   * again, and reported, by the first acquire of that model.
   */
  preload(model: string | undefined): void {
    try {
      void this.#load(this.#options.resolve(model)).catch(() => undefined);
    } catch {
      // No such model: its prompts say so when they are sent.
    }
  }

  residentModels(): readonly string[] {
    return [];
  }

  /** The loads this run waited for (0 when the daemon had its models warm). */
  loadStats(): readonly ModelLoadStats[] {
    return [...this.#loads].map(([model, { loads, loadMs }]) => ({ model, loads, loadMs }));
  }

  close(): Promise<void> {
    return this.#options.endpoint.close();
  }

  /**
   * A load that takes long may wait for room: every model the daemon may keep loaded is in use by
   * other runs (a model a run is inside is never evicted). Said once, so the pause is not a mystery.
   */
  #explainSlowLoad(model: ResolvedModel, loading: Promise<DaemonLoad>): void {
    const timer = setTimeout(() => {
      void this.#options.daemon.status().then((status) => {
        const held = status.models.filter((m) => m.held && m.path !== model.path);
        if (held.length < status.maxModels || status.models.some((m) => m.path === model.path)) return;
        this.#options.notice?.(
          `model ${model.id} waits for room in the daemon: its ${status.maxModels} loaded model(s) (${held.map((m) => m.model).join(', ')}) are in use by other runs, and a model a run is inside is not evicted; it loads when one of them is done (batch ps shows them; batch up --max-models sets the room)`,
        );
      }, () => undefined);
    }, slowLoadMs);
    timer.unref();
    void loading.finally(() => clearTimeout(timer)).catch(() => undefined);
  }

  async #load(model: ResolvedModel): Promise<void> {
    let loading = this.#loaded.get(model.path);
    if (loading === undefined) {
      loading = this.#options.daemon.load(model.path, model.id);
      this.#loaded.set(model.path, loading);
      this.#explainSlowLoad(model, loading);
      loading.then(
        (load) => {
          if (!load.started) return;
          const counted = this.#loads.get(model.id) ?? { loads: 0, loadMs: 0 };
          this.#loads.set(model.id, { loads: counted.loads + 1, loadMs: counted.loadMs + load.loadMs });
          this.#options.notice?.(`the daemon loaded model ${model.id} in ${(load.loadMs / 1000).toFixed(1)} s; it stays loaded for the next runs`);
        },
        () => this.#loaded.delete(model.path),
      );
    }
    try {
      await loading;
    } catch (error) {
      throw error instanceof AppError ? error : new AppError('INTERNAL', (error as Error).message, { cause: error });
    }
  }
}
