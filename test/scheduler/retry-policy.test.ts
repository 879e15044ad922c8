import { describe, expect, it } from 'vitest';
import { AppError, UsageError } from '../../src/errors.js';
import { RetryPolicy } from '../../src/scheduler/retry-policy.js';

const transient = new AppError('SERVER_ERROR', '500', { retryable: true });

describe('RetryPolicy', () => {
  it('uses full jitter within a doubling window', () => {
    const policy = new RetryPolicy({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999 });
    expect(policy.delayMs(1, transient)).toBe(99);
    expect(policy.delayMs(2, transient)).toBe(199);
    expect(policy.delayMs(3, transient)).toBe(399);
    expect(policy.delayMs(5, transient)).toBe(999);
    expect(new RetryPolicy({ random: () => 0 }).delayMs(3, transient)).toBe(0);
  });

  it('honours Retry-After, capped at the maximum', () => {
    const policy = new RetryPolicy({ maxDelayMs: 5000 });
    expect(policy.delayMs(1, new AppError('RATE_LIMITED', '429', { retryable: true, retryAfterMs: 2000 }))).toBe(2000);
    expect(policy.delayMs(1, new AppError('RATE_LIMITED', '429', { retryable: true, retryAfterMs: 60_000 }))).toBe(5000);
  });

  it('gives up on permanent errors and after the retry budget', () => {
    const policy = new RetryPolicy({ retries: 2 });
    expect(policy.delayMs(1, new AppError('MODEL_NOT_FOUND', '404'))).toBeUndefined();
    expect(policy.delayMs(2, transient)).toBeTypeOf('number');
    expect(policy.delayMs(3, transient)).toBeUndefined();
  });

  it('rejects a negative retry count or delay with UsageError (exit 2)', () => {
    expect(() => new RetryPolicy({ retries: -1 })).toThrow(new UsageError('expected `retries` to be a whole number >= 0, got -1'));
    expect(() => new RetryPolicy({ retries: -1 })).toThrow(UsageError);
    expect(() => new RetryPolicy({ retries: 1.5 })).toThrow(UsageError);
    expect(() => new RetryPolicy({ baseDelayMs: -1 })).toThrow(new UsageError('expected `baseDelayMs` to be a number >= 0, got -1'));
    expect(() => new RetryPolicy({ maxDelayMs: Number.NaN })).toThrow(UsageError);
  });
});
