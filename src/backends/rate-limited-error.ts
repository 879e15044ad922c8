import { BackendError, type AppErrorOptions, type ServerAnswer } from '../errors.js';
import type { RateLimitState } from './rate-limit-headers.js';

/**
 * A 429 answer (`RATE_LIMITED`, retryable), with the `x-ratelimit-*` budgets it reported so that
 * the scheduler's request gate can hold every request to that server until the budget resets,
 * not only the one that was refused.
 */
export class RateLimitedError extends BackendError {
  /** The budgets the 429's headers reported, if any. */
  readonly rateLimit: RateLimitState | undefined;

  constructor(
    url: string,
    message: string,
    rateLimit: RateLimitState | undefined,
    options: AppErrorOptions & { readonly statusCode?: number; readonly response?: ServerAnswer } = {},
  ) {
    super('RATE_LIMITED', url, message, { ...options, retryable: true });
    this.name = 'RateLimitedError';
    this.rateLimit = rateLimit;
  }
}
