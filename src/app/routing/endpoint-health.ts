import { BackendError, type AppError } from '../../errors.js';
import { checkNumber, checkWholeNumber } from '../../util/check-option.js';

/**
 * `closed`: traffic flows. `open`: no traffic; a probe after the cooldown decides. `half-open`: the
 * probe said the server is back; one request at a time goes out until one is answered.
 */
export type EndpointState = 'closed' | 'open' | 'half-open';

/** What one failure says about the endpoint's health. */
export type FailureKind =
  /** Nothing listens: the server is down, no need to wait for more evidence. */
  | 'down'
  /** 503: the server is up but loading a model; waited for, never charged to the prompt. */
  | 'loading'
  /** A reset, a stall, a timeout, a 5xx: one may be bad luck, several in a row are a sick server. */
  | 'failure';

/**
 * How a failed request's error bears on its endpoint's health; undefined when the server answered
 * (a 4xx, a 429, an answer of the wrong shape) or the request was cancelled: those say the server is up.
 */
export function failureKind(error: AppError): FailureKind | undefined {
  switch (error.code) {
    case 'SERVER_UNREACHABLE':
      // A TLS failure is no outage: probing will not fix a certificate.
      return error.retryable ? 'down' : undefined;
    case 'SERVER_ERROR':
      return error instanceof BackendError && error.statusCode === 503 ? 'loading' : 'failure';
    case 'CONNECTION_RESET':
    case 'STALLED':
    case 'REQUEST_TIMEOUT':
    case 'SERVER_CRASHED':
      return 'failure';
    default:
      return undefined;
  }
}

/** The circuit breaker's thresholds. */
export interface EndpointHealthOptions {
  /** Failures in a row (resets, stalls, timeouts, 5xx) that open the breaker; a refused connection opens it at once. @default 3 */
  readonly failureThreshold?: number;
  /** Wait before the first probe of an open endpoint; it doubles each time the endpoint fails again before answering a request. @default 250 */
  readonly baseCooldownMs?: number;
  /** Longest wait between two probes. @default 5000 */
  readonly maxCooldownMs?: number;
  /** Wait between probes while the server says it is loading its model. @default 1000 */
  readonly loadingProbeMs?: number;
  /**
   * What a failed request says about the endpoint; undefined: the server answered. A managed
   * server counts only its stalls and timeouts (its 5xx are a request's, not a hung process's).
   * @default failureKind
   */
  readonly failureKind?: (error: AppError) => FailureKind | undefined;
}

/** What recording a failure did. */
export interface FailureVerdict {
  /** The endpoint was already known down, or the request never reached a model (refused, 503): it is not charged a retry. */
  readonly excused: boolean;
  /** This failure opened the breaker (a probe must be scheduled). */
  readonly opened: boolean;
}

/**
 * The circuit breaker of one endpoint (pure: the router owns the timers and the probes). It opens
 * after `failureThreshold` failures in a row, at once when nothing listens or a model loads, and
 * closes again on the first answered request; while open, probes are spaced by a cooldown that
 * doubles up to `maxCooldownMs` with every failed probe or failed trial.
 */
export class EndpointHealth {
  readonly #threshold: number;
  readonly #baseCooldownMs: number;
  readonly #maxCooldownMs: number;
  readonly #loadingProbeMs: number;
  readonly #failureKind: (error: AppError) => FailureKind | undefined;
  #state: EndpointState = 'closed';
  #failures = 0;
  /** Cooldowns since the last answered request: the exponent of the backoff. */
  #cooldowns = 0;
  #loading = false;
  /** A 503 "loading" was seen since the last answered request. */
  #loadingSeen = false;
  #downSince: number | undefined;

  constructor(options: EndpointHealthOptions = {}) {
    this.#threshold = checkWholeNumber('failureThreshold', options.failureThreshold ?? 3, 1);
    this.#baseCooldownMs = checkNumber('baseCooldownMs', options.baseCooldownMs ?? 250, 0);
    this.#maxCooldownMs = checkNumber('maxCooldownMs', options.maxCooldownMs ?? 5000, 0);
    this.#loadingProbeMs = checkNumber('loadingProbeMs', options.loadingProbeMs ?? 1000, 0);
    this.#failureKind = options.failureKind ?? failureKind;
  }

  get state(): EndpointState {
    return this.#state;
  }

  /** Whether the last word on the server was "loading a model" (503). */
  get loading(): boolean {
    return this.#loading;
  }

  /** Whether it said "loading a model" (503) since its last answered request: its return is a model that loaded. */
  get loadingSeen(): boolean {
    return this.#loadingSeen;
  }

  /** Since when the endpoint has been unavailable (open or on trial), if it is. */
  get downSince(): number | undefined {
    return this.#downSince;
  }

  /** Whether a request may go out, given how many this endpoint has in flight. */
  accepts(inFlight: number): boolean {
    return this.#state === 'closed' || (this.#state === 'half-open' && inFlight === 0);
  }

  /** The server answered a request (whatever the status): it is up. */
  recordAnswer(): void {
    this.#state = 'closed';
    this.#failures = 0;
    this.#cooldowns = 0;
    this.#loading = false;
    this.#loadingSeen = false;
    this.#downSince = undefined;
  }

  /** A request on this endpoint failed with `error`, at `now`. */
  recordFailure(error: AppError, now: number): FailureVerdict {
    const kind = this.#failureKind(error);
    if (kind === undefined) {
      this.recordAnswer();
      return { excused: false, opened: false };
    }
    // Another request already found it down: this one was on its way before anybody knew.
    if (this.#state === 'open') return { excused: true, opened: false };
    const onTrial = this.#state === 'half-open';
    this.#failures += 1;
    if (kind === 'failure' && !onTrial && this.#failures < this.#threshold) return { excused: false, opened: false };
    this.#open(now, kind === 'loading');
    // A refused connection or a 503 never reached a model: the prompt is not at fault, and the
    // open breaker keeps it from trying again before a probe finds the server back. A trial request
    // is charged whatever the failure: a server that says "ok" to every probe and fails every
    // request must not keep a prompt forever.
    return { excused: kind !== 'failure' && !onTrial, opened: true };
  }

  /** Milliseconds before the next probe of an open endpoint. */
  probeDelayMs(): number {
    if (this.#loading) return this.#loadingProbeMs;
    return Math.min(this.#maxCooldownMs, this.#baseCooldownMs * 2 ** Math.max(0, this.#cooldowns - 1));
  }

  /** Marks an endpoint that did not answer at start as down since `now`. */
  markDown(now: number, loading: boolean): void {
    this.#open(now, loading);
  }

  /** A probe of the open endpoint answered `result`. */
  recordProbe(result: 'ok' | 'loading' | 'down'): void {
    if (this.#state !== 'open') return;
    if (result === 'ok') {
      this.#state = 'half-open';
      this.#loading = false;
      return;
    }
    this.#loading = result === 'loading';
    if (this.#loading) this.#loadingSeen = true;
    if (result === 'down') this.#cooldowns += 1;
  }

  #open(now: number, loading: boolean): void {
    this.#state = 'open';
    this.#failures = 0;
    this.#cooldowns += 1;
    this.#loading = loading;
    if (loading) this.#loadingSeen = true;
    this.#downSince ??= now;
  }
}
