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
    expect(result.reason).toContain('within 5% of the best (1000.0 tokens/s at 16)');
  });

  it('leaves out levels that only queue for slots', () => {
    // 4 → 8: +12% throughput but the median latency goes 1000 → 1800 ms (1.8×): queueing.
    const result = recommend([level(1, 100, 1000), level(2, 200, 1000), level(4, 400, 1000), level(8, 448, 1800)]);
    expect(result.recommended).toBe(4);
    expect(result.reason).toContain('at 8 requests only queue');
  });

  it('keeps climbing while a doubling still pays: +60% throughput at 1.25× latency is batching, not queueing', () => {
    const result = recommend([level(8, 1000, 1000), level(16, 1600, 1250), level(32, 1620, 2500)]);
    // 32 queues (+1.25%, 2×): out. Best of the rest is 16.
    expect(result.recommended).toBe(16);
  });
});
