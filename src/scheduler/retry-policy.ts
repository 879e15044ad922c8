import type { AppError } from '../errors.js';
import { checkNumber, checkWholeNumber } from '../util/check-option.js';
import { defaults } from '../defaults.js';

/** How failed requests are retried. */
export interface RetryPolicyOptions {
  /**
   * Retries after the first attempt; 0 sends each prompt once.
   * @default 5
   */
  readonly retries?: number;
  /**
   * Upper bound of the first backoff window; it doubles per retry (full jitter).
   * @default 250
   */
  readonly baseDelayMs?: number;
  /**
   * Longest backoff window, and the longest `Retry-After` honoured.
   * @default 30000
   */
  readonly maxDelayMs?: number;
  /** Random source in [0, 1); injectable so tests are deterministic. @default Math.random */
  readonly random?: () => number;
}

/**
 * Exponential backoff with full jitter (AWS architecture blog's "full jitter"): a uniformly random
 * delay in [0, min(max, base·2^(n-1))]. Spreading retries randomly keeps a recovering server from
 * being hit by every worker at the same instant. A server's `Retry-After` wins over the formula.
 */
export class RetryPolicy {
  readonly retries: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #random: () => number;

  constructor(options: RetryPolicyOptions = {}) {
    this.retries = checkWholeNumber('retries', options.retries ?? defaults.retries, 0);
    this.#baseDelayMs = checkNumber('baseDelayMs', options.baseDelayMs ?? 250, 0);
    this.#maxDelayMs = checkNumber('maxDelayMs', options.maxDelayMs ?? 30_000, 0);
    this.#random = options.random ?? Math.random;
  }

  /**
   * The delay before retry number `failures` (1 after the first failed attempt), or undefined
   * when the error is permanent or the retries are spent.
   */
  delayMs(failures: number, error: AppError): number | undefined {
    if (!error.retryable || failures > this.retries) return undefined;
    if (error.retryAfterMs !== undefined) return Math.min(error.retryAfterMs, this.#maxDelayMs);
    const window = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (failures - 1));
    return Math.floor(this.#random() * window);
  }
}
