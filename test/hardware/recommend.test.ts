import { describe, expect, it } from 'vitest';
import type { ConcurrencyLevel } from '../../src/hardware/concurrency-curve.js';
import { recommend } from '../../src/hardware/measure-concurrency.js';

const level = (concurrency: number, tokensPerSecond: number, p50LatencyMs: number): ConcurrencyLevel => ({
  concurrency,
  requests: 2 * concurrency,
  completionTokensPerSecond: tokensPerSecond,
  requestsPerSecond: tokensPerSecond / 32,
  p50LatencyMs,
  p95LatencyMs: p50LatencyMs * 1.2,
});

describe('recommend', () => {
  it('picks the smallest level within 5% of the best throughput', () => {
    // 16 is best (1000); 8 gives 960 ≥ 950 = 95% of it, so 8 wins. Latency grows slowly (batched
    // decoding, 1300 → 1500 ms = 1.15×), so no level counts as queueing.
    const result = recommend([level(1, 200, 1000), level(2, 390, 1020), level(4, 700, 1100), level(8, 960, 1300), level(16, 1000, 1500)]);
    expect(result.recommended).toBe(8);
    expect(result.reason).toContain('within 5% of the best (1000.0 tokens/s at 16, +4%)');
  });

  it('leaves out levels that only queue for slots', () => {
    // 4 → 8: +12% throughput but the median latency goes 1000 → 1800 ms (1.8×): queueing.
    const result = recommend([level(1, 100, 1000), level(2, 200, 1000), level(4, 400, 1000), level(8, 448, 1800)]);
    expect(result.recommended).toBe(4);
    expect(result.reason).toContain('at 8 requests only queue');
  });

  it('never says a level "gives the best throughput" while a level that queued measured more, and names the rule that left it out', () => {
    // 2 → 4: +10% throughput, median latency 1000 → 1900 ms: 4 queues, 2 is chosen.
    const result = recommend([level(1, 110, 1000), level(2, 200, 1000), level(4, 220, 1900)]);
    expect(result.recommended).toBe(2);
    expect(result.reason).not.toMatch(/^2 gives the best throughput \(/);
    expect(result.reason).toContain('2 gives the best throughput before requests queue (200.0 tokens/s, p50 1000 ms)');
    expect(result.reason).toContain("at 4 requests only queue for the server's slots (220.0 tokens/s, +10% over 2, while p50 latency went 1000 → 1900 ms from 2), so it is left out: a level whose median latency grows 1.4× or more for less than +50% throughput waits for slots");
    // A knee within 5% of a queued level's best says both rules, and by how much the others measured more.
    const near = recommend([level(1, 100, 1000), level(2, 196, 1000), level(4, 200, 1100), level(8, 208, 2000)]);
    expect(near.recommended).toBe(2);
    expect(near.reason).toContain('2 reaches 196.0 tokens/s, within 5% of the best before requests queue (200.0 tokens/s at 4, +2%)');
    expect(near.reason).toContain('the smallest level within 5% of the best is chosen');
    expect(near.reason).toContain('at 8 requests only queue for the server\'s slots (208.0 tokens/s, +6% over 2');
  });

  it('keeps climbing while a doubling still pays: +60% throughput at 1.25× latency is batching, not queueing', () => {
    const result = recommend([level(8, 1000, 1000), level(16, 1600, 1250), level(32, 1620, 2500)]);
    // 32 queues (+1.25%, 2×): out. Best of the rest is 16.
    expect(result.recommended).toBe(16);
  });
});
