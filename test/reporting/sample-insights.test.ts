import { describe, expect, it } from 'vitest';
import { gpuInsight, memoryInsight, underuseWarning } from '../../src/reporting/sample-insights.js';
import type { GroupStats } from '../../src/store/group-stats.js';
import type { SampleRecord } from '../../src/store/samples.js';

const t0 = 1_700_000_000_000;

function sample(i: number, extra: Partial<SampleRecord> = {}): SampleRecord {
  return {
    jobId: 1,
    runId: null,
    at: t0 + i * 5000,
    intervalMs: 5000,
    done: i * 100,
    failed: 0,
    queued: 1000 - i * 100,
    inFlight: 2,
    inFlightByServer: { 'http://a': 1, 'http://b': 1 },
    requestsPerS: 20,
    tokensPerS: 300,
    rssBytes: 100 * 2 ** 20 + i * 100 * 1024,
    heapBytes: 40 * 2 ** 20,
    gpus: [{ index: 0, name: 'RTX', utilizationPct: 30, memoryUsedBytes: 1, memoryTotalBytes: 2 }],
    ...extra,
  };
}

describe('sample insights', () => {
  it('takes memory growth per 1,000 prompts as the slope of RSS against prompts finished', () => {
    const memory = memoryInsight(Array.from({ length: 11 }, (_, i) => sample(i)));
    expect(memory).toMatchObject({ startBytes: 100 * 2 ** 20, endBytes: 100 * 2 ** 20 + 10 * 100 * 1024, samples: 11 });
    // 100 KiB more every 100 prompts: 1,000 KiB per 1,000.
    expect(memory!.growthPer1000PromptsBytes).toBeCloseTo(1000 * 1024, 0);
    expect(memoryInsight([sample(0), sample(0)])!.growthPer1000PromptsBytes).toBeNull();
    // Under 1,000 prompts between the first and last sample, the garbage collector's noise would be scaled up: none.
    expect(memoryInsight(Array.from({ length: 10 }, (_, i) => sample(i)))!.growthPer1000PromptsBytes).toBeNull();
    expect(memoryInsight([])).toBeNull();
  });

  it('warns of an idle GPU while prompts wait, naming model switches, a slow server or too few workers from the data', () => {
    const idle = Array.from({ length: 8 }, (_, i) => sample(i));
    const gpu = gpuInsight(idle);
    expect(gpu).toMatchObject({ meanUtilizationPct: 30, samples: 8, names: ['RTX'], waitingSamples: 8, idleWhileWaitingSamples: 8 });
    const server = (key: string, p50: number): GroupStats => ({ key, requests: 1, failed: 0, completionTokens: 0, spanMs: 1, requestsPerS: 1, tokensPerS: 1, latencyMs: { p50, p95: p50, p99: p50 }, ttftMs: null, loadReported: 0, warmStarts: 0 });
    expect(underuseWarning(idle, gpu, { perServer: [server('http://a', 100)], loads: 9, models: 2 })).toMatch(/8 of 8 samples .*likely model switches \(9 model loads for 2 model\(s\)\)/);
    expect(underuseWarning(idle, gpu, { perServer: [server('http://a', 100), server('http://slow', 450)], loads: 1, models: 1 })).toMatch(/likely a slow server \(http:\/\/slow: p50 450 ms against 100 ms at http:\/\/a\)/);
    expect(underuseWarning(idle, gpu, { perServer: [server('http://a', 100)], loads: 1, models: 1, workers: 2, slotsPerServer: 8 })).toMatch(/likely too few workers for the slots: 2\.0 request\(s\) in flight on average for 8 slot\(s\) \(--workers 2\)/);
    const busy = Array.from({ length: 8 }, (_, i) => sample(i, { gpus: [{ index: 0, name: 'RTX', utilizationPct: 90, memoryUsedBytes: null, memoryTotalBytes: null }] }));
    expect(underuseWarning(busy, gpuInsight(busy), { perServer: [], loads: 9, models: 1 })).toBeUndefined();
    // Idle only once prompts stopped waiting: no warning either.
    const drained = Array.from({ length: 8 }, (_, i) => sample(i, { queued: 0 }));
    expect(underuseWarning(drained, gpuInsight(drained), { perServer: [], loads: 9, models: 1 })).toBeUndefined();
    expect(gpuInsight([sample(0, { gpus: [] })])).toBeNull();
  });
});
