import type { RateLimitState } from '../backends/rate-limit-headers.js';
import { AdaptiveLimit, type LimitPermit } from './adaptive-limit.js';
import { TokenBucket } from './token-bucket.js';

/** The limits of one endpoint. */
export interface EndpointGateOptions {
  /** Requests per minute (`--rpm`); none: no bound. */
  readonly rpm?: number;
  /** Estimated tokens per minute (`--tpm`); none: no bound. */
  readonly tpm?: number;
  /** Requests in flight at first. */
  readonly initialConcurrency: number;
  /** Most requests in flight the adaptive limit may grow to. */
  readonly maxConcurrency: number;
  /** Clock in milliseconds. */
  readonly now: () => number;
}

/** What `tryAdmit` decided: go now with a permit, wait `waitMs` (a rate), or wait for a release (concurrency). */
export type Admission = { readonly permit: LimitPermit } | { readonly waitMs: number } | { readonly full: true };

/** A budget the server reported in its `x-ratelimit-*` headers, valid until it resets. */
interface ServerBudget {
  left: number;
  readonly until: number;
}

/**
 * Everything that decides when a request may go to one endpoint: the `--rpm` and `--tpm` token
 * buckets, the budgets the server itself last reported (`x-ratelimit-remaining-*` until
 * `x-ratelimit-reset-*`), and the adaptive concurrency limit. Synchronous and clock-driven, so the
 * decisions can be tested without timers.
 */
export class EndpointGate {
  readonly #now: () => number;
  readonly #requests: TokenBucket | undefined;
  readonly #tokens: TokenBucket | undefined;
  readonly #limit: AdaptiveLimit;
  #serverRequests: ServerBudget | undefined;
  #serverTokens: ServerBudget | undefined;

  constructor(options: EndpointGateOptions) {
    this.#now = options.now;
    this.#requests = options.rpm === undefined ? undefined : new TokenBucket({ perMinute: options.rpm, now: options.now });
    this.#tokens = options.tpm === undefined ? undefined : new TokenBucket({ perMinute: options.tpm, now: options.now });
    this.#limit = new AdaptiveLimit({ initial: Math.min(options.initialConcurrency, options.maxConcurrency), max: options.maxConcurrency });
  }

  /** Requests allowed in flight now. */
  get concurrency(): number {
    return this.#limit.limit;
  }

  get inFlight(): number {
    return this.#limit.inFlight;
  }

  /**
   * Admits a request of `tokens` estimated tokens now, taking its share of every budget, or says
   * how to wait. Rates are checked before concurrency is taken, so a request held by a rate holds
   * no slot.
   */
  tryAdmit(tokens: number): Admission {
    const now = this.#now();
    if (this.#serverRequests !== undefined && now >= this.#serverRequests.until) this.#serverRequests = undefined;
    if (this.#serverTokens !== undefined && now >= this.#serverTokens.until) this.#serverTokens = undefined;
    let waitMs = 0;
    if (this.#serverRequests !== undefined && this.#serverRequests.left <= 0) waitMs = Math.max(waitMs, this.#serverRequests.until - now);
    if (this.#serverTokens !== undefined && this.#serverTokens.left < tokens) waitMs = Math.max(waitMs, this.#serverTokens.until - now);
    waitMs = Math.max(waitMs, this.#requests?.waitMs(1) ?? 0, this.#tokens?.waitMs(tokens) ?? 0);
    if (waitMs > 0) return { waitMs: Math.ceil(waitMs) };
    const permit = this.#limit.tryAcquire();
    if (permit === undefined) return { full: true };
    this.#requests?.take(1);
    this.#tokens?.take(tokens);
    if (this.#serverRequests !== undefined) this.#serverRequests.left -= 1;
    if (this.#serverTokens !== undefined) this.#serverTokens.left -= tokens;
    return { permit };
  }

  /** A request ended: its slot is free, and an overload (429) cuts the concurrency. */
  release(permit: LimitPermit, outcome: 'success' | 'overload' | 'other'): void {
    this.#limit.release(permit, outcome);
  }

  /** The budgets an answer reported; they replace what earlier answers said. */
  observe(state: RateLimitState | undefined): void {
    if (state === undefined) return;
    const now = this.#now();
    if (state.remainingRequests !== undefined && state.resetRequestsMs !== undefined) {
      this.#serverRequests = { left: state.remainingRequests, until: now + state.resetRequestsMs };
    }
    if (state.remainingTokens !== undefined && state.resetTokensMs !== undefined) {
      this.#serverTokens = { left: state.remainingTokens, until: now + state.resetTokensMs };
    }
  }
}
