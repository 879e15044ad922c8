import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/scheduler/token-bucket.js';

/** Takers that always want one more, on a clock that only moves when they wait: the worst case for a limit. */
function greedyTakes(bucket: TokenBucket, clock: { now: number }, untilMs: number, amount = 1): number[] {
  const taken: number[] = [];
  while (clock.now <= untilMs) {
    const wait = bucket.waitMs(amount);
    if (wait === 0) {
      bucket.take(amount);
      taken.push(clock.now);
    } else {
      clock.now += wait;
    }
  }
  return taken;
}

describe('TokenBucket', () => {
  it('--rpm 600 hands out at most 305 requests over 30 simulated seconds, and no fewer than the rate allows', () => {
    const clock = { now: 0 };
    const bucket = new TokenBucket({ perMinute: 600, now: () => clock.now });
    expect(bucket.capacity).toBe(5);
    const taken = greedyTakes(bucket, clock, 30_000);
    expect(taken.length).toBeLessThanOrEqual(305);
    expect(taken.length).toBeGreaterThanOrEqual(300);
    // Not just in total: no window of any length holds more than the burst plus the rate.
    for (let i = 0; i < taken.length; i++) {
      for (let j = i; j < taken.length; j += 7) expect(j - i + 1).toBeLessThanOrEqual(5 + Math.floor(((taken[j]! - taken[i]!) * 600) / 60_000) + 1);
    }
  });

  it('starts full: the first burst goes at once, then one every 100 ms', () => {
    const clock = { now: 0 };
    const bucket = new TokenBucket({ perMinute: 600, now: () => clock.now });
    const taken = greedyTakes(bucket, clock, 1000);
    expect(taken.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(taken.slice(5, 8)).toEqual([100, 200, 300]);
  });

  it('lets a take larger than the capacity through once full, then makes later ones wait off the debt', () => {
    const clock = { now: 0 };
    const bucket = new TokenBucket({ perMinute: 60_000, now: () => clock.now });
    expect(bucket.capacity).toBe(500);
    expect(bucket.waitMs(2000)).toBe(0);
    bucket.take(2000);
    expect(bucket.level()).toBe(-1500);
    // 1500 tokens of debt plus the next 100 at 1000 tokens a second.
    expect(bucket.waitMs(100)).toBe(1600);
    clock.now += 1600;
    expect(bucket.waitMs(100)).toBe(0);
  });

  it('holds at most its capacity after an idle spell', () => {
    const clock = { now: 0 };
    const bucket = new TokenBucket({ perMinute: 120, capacity: 3, now: () => clock.now });
    clock.now += 3_600_000;
    expect(bucket.level()).toBe(3);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new TokenBucket({ perMinute: 0 })).toThrow(/perMinute/);
  });
});
