import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { openBackend } from '../../src/backends/open-backend.js';
import { measureConcurrency } from '../../src/hardware/measure-concurrency.js';
import { renderCurveSvg } from '../../src/hardware/render-curve-svg.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let sim: SimServer;
let backend: Backend;

beforeAll(async () => {
  sim = await startSimServer({ flavour: 'llama-server', slots: 8, serviceMs: 50, completionTokens: 16 });
  backend = await openBackend({ url: sim.url, type: 'llama-server', connections: 64 });
});

afterAll(async () => {
  await backend?.close();
  await sim?.close();
});

describe('measureConcurrency', () => {
  it('finds the 8 slots of a server: throughput stops growing past them', async () => {
    const seen: number[] = [];
    const curve = await measureConcurrency({
      backend,
      maxConcurrency: 64,
      // Three waves per level: enough to average out one slow request, few enough to stay fast.
      requestsPerLevel: (concurrency) => 3 * concurrency,
      timeoutMs: 10_000,
      onLevel: (level) => seen.push(level.concurrency),
    });
    // 1 → 8 doubles throughput each time; at 16 requests queue behind the 8 slots (the median
    // latency nearly doubles), so it stops there.
    expect(curve.levels.map((level) => level.concurrency)).toEqual([1, 2, 4, 8, 16]);
    expect(seen).toEqual([1, 2, 4, 8, 16]);
    expect(curve.recommended).toBe(8);
    expect(curve.reason).toMatch(/^8 /);
    expect(curve.levels.map((level) => level.requests)).toEqual([3, 6, 12, 24, 48]);
    const at = (c: number) => curve.levels.find((level) => level.concurrency === c)!;
    // Every answer carries 16 completion tokens.
    expect(at(8).completionTokensPerSecond).toBeCloseTo(at(8).requestsPerSecond * 16, 6);
    // Past the slots, requests wait for a slot: the p95 latency grows.
    expect(at(16).p95LatencyMs).toBeGreaterThan(at(8).p95LatencyMs);
    expect(sim.stats().maxConcurrent).toBe(16);
    expect(sim.stats().maxInService).toBe(8);

    const svg = renderCurveSvg(curve);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<circle class="point"/g)).toHaveLength(curve.levels.length);
    expect(svg.match(/<rect class="latency-point"/g)).toHaveLength(curve.levels.length);
    expect(svg).toContain('recommended: 8');
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('keeps exactly `level` requests in flight, with an injected clock', async () => {
    let inFlight = 0;
    let peak = 0;
    let clock = 0;
    const fake: Backend = {
      type: 'openai',
      url: 'http://127.0.0.1:1',
      async complete() {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await Promise.resolve();
        // Throughput is flat at 4 tokens per tick whatever the concurrency.
        clock += 1;
        inFlight -= 1;
        return { statusCode: 200, requestId: 'r', body: {}, promptTokens: 1, completionTokens: 4, timings: { latencyMs: 1 } };
      },
      describe: async () => ({ type: 'openai', models: ['m'] }),
      health: async () => 'ok',
      close: async () => undefined,
    };
    const curve = await measureConcurrency({ backend: fake, maxConcurrency: 2, requestsPerLevel: 4, timeoutMs: 1000, now: () => clock });
    expect(curve.levels.map((level) => [level.concurrency, level.requests, level.completionTokensPerSecond])).toEqual([
      [1, 4, 4000],
      [2, 4, 4000],
    ]);
    expect(peak).toBe(2);
    expect(curve.recommended).toBe(1);
  });

  it('rejects bad options', async () => {
    await expect(measureConcurrency({ backend, maxConcurrency: 0 })).rejects.toThrow('expected `maxConcurrency` to be a whole number >= 1, got 0');
  });
});
