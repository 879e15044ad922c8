import { describe, expect, it } from 'vitest';
import { AdaptiveLimit, type LimitPermit } from '../../src/scheduler/adaptive-limit.js';

/**
 * Rounds against a server that refuses (429) whatever arrives while `cap` are being served: each
 * round sends as many requests as the limit allows, then they all end. Returns the limits seen.
 */
function againstCap(limit: AdaptiveLimit, cap: number, rounds: number): number[] {
  const limits: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const permits: LimitPermit[] = [];
    for (let permit = limit.tryAcquire(); permit !== undefined; permit = limit.tryAcquire()) permits.push(permit);
    // A 429 comes back at once, while the served requests are still in flight.
    for (const permit of permits.filter((p) => p.level > cap)) limit.release(permit, 'overload');
    for (const permit of permits.filter((p) => p.level <= cap)) limit.release(permit, 'success');
    limits.push(limit.limit);
  }
  return limits;
}

describe('AdaptiveLimit', () => {
  it("finds a server's cap of 8 from a start of 4 and stays within one of it", () => {
    const limit = new AdaptiveLimit({ initial: 4, max: 64 });
    const limits = againstCap(limit, 8, 200);
    expect(Math.max(...limits)).toBeLessThanOrEqual(9);
    for (const seen of limits.slice(100)) expect(seen).toBeGreaterThanOrEqual(7);
  });

  it('cuts once for a burst of 429s from one overshoot, not once per 429', () => {
    const limit = new AdaptiveLimit({ initial: 20, max: 20 });
    const permits = Array.from({ length: 20 }, () => limit.tryAcquire()!);
    for (const permit of permits) limit.release(permit, 'overload');
    expect(limit.limit).toBe(18);
  });

  it('cuts from what the server saw, not from a limit never reached', () => {
    const limit = new AdaptiveLimit({ initial: 40, max: 40 });
    const permits = Array.from({ length: 10 }, () => limit.tryAcquire()!);
    limit.release(permits[9]!, 'overload');
    expect(limit.limit).toBe(9);
  });

  it('does not grow on successes sent below the limit, and never past max', () => {
    const limit = new AdaptiveLimit({ initial: 4, max: 5 });
    for (let i = 0; i < 100; i++) limit.release(limit.tryAcquire()!, 'success');
    expect(limit.limit).toBe(4);
    againstCap(limit, 1000, 100);
    expect(limit.limit).toBe(5);
  });

  it('holds requests past the limit until one is released', () => {
    const limit = new AdaptiveLimit({ initial: 2, max: 2 });
    const first = limit.tryAcquire()!;
    expect(limit.tryAcquire()).toBeDefined();
    expect(limit.tryAcquire()).toBeUndefined();
    limit.release(first, 'other');
    expect(limit.tryAcquire()).toBeDefined();
    expect(limit.inFlight).toBe(2);
  });

  it('never goes below one', () => {
    const limit = new AdaptiveLimit({ initial: 1, max: 1 });
    for (let i = 0; i < 10; i++) limit.release(limit.tryAcquire()!, 'overload');
    expect(limit.limit).toBe(1);
  });
});
