import { checkNumber, checkWholeNumber } from '../util/check-option.js';

/** How the concurrency of one endpoint adapts. */
export interface AdaptiveLimitOptions {
  /** Requests in flight allowed at first. */
  readonly initial: number;
  /** Most requests in flight ever allowed (`--workers`, or the probing ceiling). */
  readonly max: number;
  /**
   * Factor the limit is multiplied by on an overload (429): 0.9 settles just under the server's
   * real limit, where halving (TCP's 0.5) would leave a quarter of it unused on average.
   * @default 0.9
   */
  readonly decrease?: number;
}

/** One request's hold on the limit, from `tryAcquire` until `release`. */
export interface LimitPermit {
  /** The limit's epoch when the request went out: an overload from before a cut is old news. */
  readonly epoch: number;
  /** Requests in flight with this one, when it went out: whether it found the limit full. */
  readonly level: number;
}

/**
 * AIMD concurrency (additive increase, multiplicative decrease, as TCP's congestion window and
 * Netflix's concurrency-limits): each success of a request that went out with the limit full adds
 * 1/limit (one more slot per limit's worth of successes), each overload multiplies the limit by
 * `decrease`. A server's real concurrency cap is found without being told, and followed if it moves.
 *
 * Overloads of requests that went out before the last cut do not cut again: a burst of 429s from
 * one overshoot is one signal. Successes of requests sent below the limit do not grow it: a limit
 * nobody reached says nothing about the server.
 */
export class AdaptiveLimit {
  readonly max: number;
  readonly #decrease: number;
  #limit: number;
  #inFlight = 0;
  #epoch = 0;

  constructor(options: AdaptiveLimitOptions) {
    this.max = checkWholeNumber('max', options.max, 1);
    const initial = checkWholeNumber('initial', options.initial, 1, this.max);
    this.#decrease = checkNumber('decrease', options.decrease ?? 0.9, 0, true);
    if (this.#decrease >= 1) throw new RangeError(`expected \`decrease\` to be below 1, got ${this.#decrease}`);
    this.#limit = initial;
  }

  /** Requests allowed in flight now (a whole number). */
  get limit(): number {
    return Math.floor(this.#limit);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** A permit when a request may go out now, else undefined (wait for a release). */
  tryAcquire(): LimitPermit | undefined {
    if (this.#inFlight >= this.limit) return undefined;
    this.#inFlight += 1;
    return { epoch: this.#epoch, level: this.#inFlight };
  }

  /** The request ended; `outcome` says whether the server was overloaded by it. */
  release(permit: LimitPermit, outcome: 'success' | 'overload' | 'other'): void {
    // In flight when the answer came, this request included: what the server was refusing.
    const level = this.#inFlight;
    this.#inFlight -= 1;
    if (outcome === 'success') {
      if (permit.level >= this.limit) this.#limit = Math.min(this.max, this.#limit + 1 / this.limit);
    } else if (outcome === 'overload' && permit.epoch === this.#epoch) {
      // Cut from what the server really saw, not from a limit that was never reached.
      this.#limit = Math.max(1, Math.min(this.#limit, level) * this.#decrease);
      this.#epoch += 1;
    }
  }
}
