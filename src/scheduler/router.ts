import type { Backend } from '../backends/backend.js';
import type { AppError } from '../errors.js';

/** How the request sent on a lease ended, so that the router learns which endpoints are healthy. */
export interface RouteOutcome {
  /** Why the request failed; absent when the server answered. */
  readonly error?: AppError;
}

/** What the router makes of a failed request. */
export interface ReleaseVerdict {
  /**
   * The endpoint was already known to be down (or loading its model) when the request failed:
   * the failure is the server's, not the prompt's, and costs the prompt no retry.
   */
  readonly excused: boolean;
}

/** How a request wants its endpoint chosen. */
export interface AcquireOptions {
  /** An endpoint's URL to avoid when another serves the model: where the last attempt failed. */
  readonly avoid?: string;
  /**
   * How long every server of the model may be down before the wait ends with ALL_SERVERS_DOWN,
   * instead of the router's own bound (`--fallback-after`, for a model with a fallback).
   */
  readonly maxDownMs?: number;
}

/** Why a request goes to another model than its own (`--fallback MODEL=OTHER`). */
export interface LeaseFallback {
  /** The prompt's own model. */
  readonly from: string;
  /** Why it is not served, in words that follow "model a's": "server could not start (MODEL_INVALID)". */
  readonly reason: string;
}

/** A backend borrowed for one request. `release()` must be called exactly once. */
export interface RouteLease {
  readonly backend: Backend;
  /**
   * The model name to put in the request body, or undefined to leave the body's own (or none,
   * for a server that serves one model).
   */
  readonly model: string | undefined;
  /** Set when the prompt's own model could not be served and another answers in its place (`--fallback`). */
  readonly fallback?: LeaseFallback;
  /** Gives the backend back, saying how its request ended (nothing: it was not sent). */
  release(outcome?: RouteOutcome): ReleaseVerdict | void;
}

/** Load statistics of one model, for the summary. */
export interface ModelLoadStats {
  readonly model: string;
  /** Times the model was loaded (server started) during this run. */
  readonly loads: number;
  /** Total time spent loading, milliseconds. */
  readonly loadMs: number;
}

/**
 * Where requests go. Remote servers use a `StaticRouter`; managed servers route through the
 * model pool, which starts and evicts servers. The scheduler knows only this interface.
 */
export interface Router {
  /**
   * A backend for `model` (undefined: the default model). May wait while a model loads or while
   * the pool waits for a server to become idle; rejects with an AppError when the model cannot be
   * served at all (unknown, invalid, too large), which fails only that model's prompts.
   */
  acquire(model: string | undefined, options?: AcquireOptions): Promise<RouteLease>;
  /**
   * A lease now when a server can take the request at once, else undefined (then `acquire`). Most
   * requests of a run find a free server: this spares each of them the promise and the two stop
   * listeners that waiting in `acquire` needs.
   */
  tryAcquire?(model: string | undefined, options?: AcquireOptions): RouteLease | undefined;
  /**
   * Whether a healthy endpoint other than `url` serves `model` now: a failed request's retry then
   * goes there at once instead of waiting out its backoff.
   */
  hasAlternative?(model: string | undefined, url: string): boolean;
  /** Models resident now, most recently used first; the scheduler serves them first. */
  residentModels(): readonly string[];
  /** Model loads during this run, where the router starts servers itself. */
  loadStats(): readonly ModelLoadStats[];
  /** Total concurrency the endpoints can run at once, if known (sum of slots). */
  readonly capacity: number | undefined;
  /** Stops managed servers and closes connection pools. */
  close(): Promise<void>;
}
