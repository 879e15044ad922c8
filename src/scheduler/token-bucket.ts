import { checkNumber } from '../util/check-option.js';

/** A budget that refills at a steady rate. */
export interface TokenBucketOptions {
  /** Tokens added per minute (`--rpm`, `--tpm`). */
  readonly perMinute: number;
  /**
   * Most tokens the bucket holds, which is the largest burst it allows after an idle spell.
   * @default half a second's worth of `perMinute`, at least 1
   */
  readonly capacity?: number;
  /** Clock in milliseconds, injectable for tests. @default performance.now */
  readonly now?: () => number;
}

/**
 * A token bucket (the classic shaping algorithm): it starts full, refills continuously at
 * `perMinute`, and a taker waits until enough has accrued. Over any window of `t` ms it hands out
 * at most `capacity + perMinute · t / 60000`: `--rpm 600` sends at most 305 requests in 30 s.
 *
 * A take larger than the capacity (a request estimated at more tokens than half a second of
 * `--tpm`) is allowed once the bucket is full, and leaves it in debt, so that big requests are
 * slowed but never starved and the long-run rate still holds.
 */
export class TokenBucket {
  readonly perMinute: number;
  readonly capacity: number;
  readonly #now: () => number;
  #level: number;
  #at: number;

  constructor(options: TokenBucketOptions) {
    this.perMinute = checkNumber('perMinute', options.perMinute, 0, true);
    this.capacity = checkNumber('capacity', options.capacity ?? Math.max(1, Math.floor(options.perMinute / 120)), 1);
    this.#now = options.now ?? (() => performance.now());
    this.#level = this.capacity;
    this.#at = this.#now();
  }

  /**
   * Milliseconds until `amount` tokens may be taken (0: now). An amount above the capacity may be
   * taken once the bucket is full.
   */
  waitMs(amount: number): number {
    const wanted = Math.min(amount, this.capacity);
    const level = this.#refill();
    return level >= wanted ? 0 : Math.max(1, Math.ceil(((wanted - level) * 60_000) / this.perMinute));
  }

  /** Takes `amount` tokens, going into debt if there are fewer: call once `waitMs(amount)` is 0. */
  take(amount: number): void {
    this.#level = this.#refill() - amount;
  }

  /** Tokens in the bucket now (negative while in debt). */
  level(): number {
    return this.#refill();
  }

  #refill(): number {
    const now = this.#now();
    if (now > this.#at) {
      this.#level = Math.min(this.capacity, this.#level + ((now - this.#at) * this.perMinute) / 60_000);
      this.#at = now;
    }
    return this.#level;
  }
}
