import type { AppError } from '../../errors.js';
import type { AcquireOptions, LeaseFallback, ModelLoadStats, RouteLease, Router } from '../../scheduler/router.js';
import { checkNumber } from '../../util/check-option.js';
import { defaults } from '../../defaults.js';

/** What a fallback router needs to know of one model's fallback. */
export interface FallbackTarget {
  /** The model whose prompts go elsewhere, as the user named it. */
  readonly from: string;
  /** The model that answers them. */
  readonly to: string;
}

export interface FallbackRouterOptions {
  /**
   * The fallback of the model a prompt names (undefined: the default model), or undefined when it
   * has none. Managed servers resolve aliases and file names here, so one model is one key.
   */
  readonly fallbackOf: (model: string | undefined) => FallbackTarget | undefined;
  /**
   * `--fallback-after`: how long every server of a model may be down (its circuit open) before its
   * prompts go to the fallback. Servers that come back take its prompts again. @default 300000
   */
  readonly fallbackAfterMs?: number;
  readonly notice?: (line: string) => void;
}

/**
 * Why a failure to get a server means "send to the fallback": a managed server that cannot start
 * (a corrupt GGUF, too little memory, a crash past its restarts), or every server of a model down
 * longer than `--fallback-after`. Anything else (an interruption, an unknown model) is not.
 */
function fallbackReason(error: AppError, fallbackAfterMs: number): string | undefined {
  switch (error.code) {
    case 'SERVER_NOT_READY':
    case 'MODEL_INVALID':
    case 'MODEL_TOO_LARGE':
    case 'SERVER_CRASHED':
      return `server could not start (${error.code})`;
    case 'ALL_SERVERS_DOWN':
      return `servers were down longer than --fallback-after ${fallbackAfterMs / 1000} s`;
    default:
      return undefined;
  }
}

/**
 * Sends a model's prompts to another model when its own cannot be served (`--fallback`): wraps
 * the run's router, asks it for the prompt's own model first (with the down bound of
 * `--fallback-after` for a fleet), and on a failure that says the model cannot be served, for
 * its fallback. A managed server that could not start is not tried again; a fleet's servers are,
 * so a server that comes back takes its prompts again. The lease says which model answers.
 */
export class FallbackRouter implements Router {
  readonly #inner: Router;
  readonly #fallbackOf: FallbackRouterOptions['fallbackOf'];
  readonly #fallbackAfterMs: number;
  readonly #notice: ((line: string) => void) | undefined;
  /** Models whose server could not start, and why: their prompts go straight to the fallback. */
  readonly #failed = new Map<string, string>();
  /** Models whose fallback was announced, so that it is announced once. */
  readonly #announced = new Set<string>();

  constructor(inner: Router, options: FallbackRouterOptions) {
    this.#inner = inner;
    this.#fallbackOf = options.fallbackOf;
    this.#fallbackAfterMs = checkNumber('fallbackAfterMs', options.fallbackAfterMs ?? defaults.fallbackAfterMs, 0);
    this.#notice = options.notice;
  }

  get capacity(): number | undefined {
    return this.#inner.capacity;
  }

  async acquire(model: string | undefined, options: AcquireOptions = {}): Promise<RouteLease> {
    const target = this.#fallbackOf(model);
    if (target === undefined) return this.#inner.acquire(model, options);
    const failed = this.#failed.get(target.from);
    if (failed !== undefined) return this.#acquireFallback(target, failed, options);
    try {
      return await this.#inner.acquire(model, { ...options, maxDownMs: this.#fallbackAfterMs });
    } catch (error) {
      const reason = fallbackReason(error as AppError, this.#fallbackAfterMs);
      if (reason === undefined) throw error;
      if ((error as AppError).code !== 'ALL_SERVERS_DOWN') this.#failed.set(target.from, reason);
      if (!this.#announced.has(target.from)) {
        this.#announced.add(target.from);
        this.#notice?.(`model ${target.from}'s ${reason} (${(error as Error).message}); its prompts go to model ${target.to} (--fallback ${target.from}=${target.to})`);
      }
      return this.#acquireFallback(target, reason, options);
    }
  }

  hasAlternative(model: string | undefined, url: string): boolean {
    return this.#inner.hasAlternative?.(model, url) ?? false;
  }

  residentModels(): readonly string[] {
    return this.#inner.residentModels();
  }

  loadStats(): readonly ModelLoadStats[] {
    return this.#inner.loadStats();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** A lease of the fallback model, saying whose prompt it answers and why. */
  async #acquireFallback(target: FallbackTarget, reason: string, options: AcquireOptions): Promise<RouteLease> {
    const lease = await this.#inner.acquire(target.to, { avoid: options.avoid });
    const fallback: LeaseFallback = { from: target.from, reason };
    return { backend: lease.backend, model: lease.model ?? target.to, fallback, release: (outcome) => lease.release(outcome) };
  }
}
