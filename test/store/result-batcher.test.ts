import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { ResultBatcher } from '../../src/store/result-batcher.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('ResultBatcher', () => {
  it('commits a group after the interval, or at once when full', () => {
    vi.useFakeTimers();
    const groups: number[][] = [];
    const batcher = new ResultBatcher<number>((entries) => (groups.push([...entries]), true), { flushIntervalMs: 100, maxBatch: 3 });
    batcher.push(1);
    vi.advanceTimersByTime(99);
    expect(groups).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(groups).toEqual([[1]]);
    batcher.push(2);
    batcher.push(3);
    batcher.push(4);
    expect(groups).toEqual([[1], [2, 3, 4]]);
    expect(batcher.pending).toBe(0);
  });

  it('after a failed commit keeps the entries in order and commits again only on flush()', () => {
    vi.useFakeTimers();
    let accept = false;
    const groups: number[][] = [];
    const batcher = new ResultBatcher<number>((entries) => (accept ? (groups.push([...entries]), true) : false), { flushIntervalMs: 10, maxBatch: 2 });
    batcher.push(1);
    batcher.push(2);
    expect(batcher.pending).toBe(2);
    accept = true;
    batcher.push(3);
    batcher.push(4);
    vi.advanceTimersByTime(1000);
    expect(groups).toEqual([]);
    expect(batcher.flush()).toBe(true);
    expect(groups).toEqual([[1, 2, 3, 4]]);
  });

  it('refuses bad options with UsageError', () => {
    expect(() => new ResultBatcher(() => true, { maxBatch: 0 })).toThrow(new UsageError('expected `maxBatch` to be a whole number >= 1, got 0'));
    expect(() => new ResultBatcher(() => true, { flushIntervalMs: -1 })).toThrow(UsageError);
  });
});
