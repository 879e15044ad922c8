import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { openBackend } from '../../src/backends/open-backend.js';
import { measureConcurrency } from '../../src/hardware/measure-concurrency.js';
import { RetryPolicy } from '../../src/scheduler/retry-policy.js';
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
  it('finds the 8 slots of a server: throughput stops growing past them (virtual time, so load cannot blur it)', async () => {
    const server = slottedServer(8, 50);
    const seen: number[] = [];
    const curve = await measureConcurrency({
      backend: server.backend,
      maxConcurrency: 64,
      requestsPerLevel: (concurrency) => 3 * concurrency,
      timeoutMs: 10_000,
      now: server.now,
      onLevel: (level) => seen.push(level.concurrency),
    });
    // 1 → 8 doubles throughput each time; at 16 requests queue behind the 8 slots (the median
    // latency doubles, throughput stays), so it stops there.
    expect(curve.levels.map((level) => level.concurrency)).toEqual([1, 2, 4, 8, 16]);
    expect(seen).toEqual([1, 2, 4, 8, 16]);
    expect(curve.recommended).toBe(8);
    expect(curve.reason).toMatch(/^8 /);
    expect(curve.levels.map((level) => level.requests)).toEqual([3, 6, 12, 24, 48]);
    const at = (c: number) => curve.levels.find((level) => level.concurrency === c)!;
    // 16 tokens per answer, 50 ms per answer per slot.
    expect(curve.levels.map((level) => level.completionTokensPerSecond)).toEqual([320, 640, 1280, 2560, 2560]);
    expect(at(16).p95LatencyMs).toBe(100);
    expect(at(8).p95LatencyMs).toBe(50);
    expect(server.peak()).toBe(16);

    const svg = renderCurveSvg(curve);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<circle class="point"/g)).toHaveLength(curve.levels.length);
    expect(svg.match(/<rect class="latency-point"/g)).toHaveLength(curve.levels.length);
    expect(svg).toContain('recommended: 8');
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('measures a real server over HTTP: exactly the level in flight, never above its slots in service', async () => {
    const curve = await measureConcurrency({ backend, maxConcurrency: 16, requestsPerLevel: (concurrency) => 2 * concurrency, timeoutMs: 10_000 });
    // Which level wins depends on this machine's load; what reached the server does not.
    expect(curve.levels[0]!.concurrency).toBe(1);
    expect(sim.stats().maxConcurrent).toBe(curve.levels.at(-1)!.concurrency);
    expect(sim.stats().maxInService).toBeLessThanOrEqual(8);
    expect(curve.levels.every((level) => level.completionTokensPerSecond > 0)).toBe(true);
  });

  it('prints no MaxListenersExceededWarning with 16 requests in flight on one abort signal', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    // 64 slots on a virtual clock: every doubling doubles throughput, so level 16 is reached
    // whatever the load on this machine; each request listens on the signal, as undici's do.
    const server = slottedServer(64, 100);
    try {
      const caller = new AbortController();
      const curve = await measureConcurrency({ backend: server.backend, maxConcurrency: 16, requestsPerLevel: (concurrency) => concurrency, timeoutMs: 10_000, now: server.now, signal: caller.signal });
      expect(curve.levels.map((level) => level.concurrency)).toEqual([1, 2, 4, 8, 16]);
      expect(server.peak()).toBe(16);
      // Warnings are emitted on a later turn of the event loop.
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
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

  it('retries a transient 500 as batch run does, instead of ending the measurement; a server that keeps failing still ends it', async () => {
    const flaky = await startSimServer({ flavour: 'llama-server', slots: 2, serviceMs: 1, completionTokens: 4, script: (n) => (n === 2 ? '500' : undefined) });
    const failing = await startSimServer({ flavour: 'llama-server', slots: 2, serviceMs: 1, script: () => '500' });
    const flakyBackend = await openBackend({ url: flaky.url, type: 'llama-server', connections: 4 });
    const failingBackend = await openBackend({ url: failing.url, type: 'llama-server', connections: 4 });
    try {
      const curve = await measureConcurrency({ backend: flakyBackend, maxConcurrency: 2, requestsPerLevel: 2, timeoutMs: 10_000, retry: new RetryPolicy({ baseDelayMs: 1 }) });
      expect(curve.levels.map((level) => level.requests)).toEqual([2, 2]);
      expect(flaky.stats().requests).toBe(5);
      await expect(measureConcurrency({ backend: failingBackend, maxConcurrency: 2, requestsPerLevel: 2, timeoutMs: 10_000, retry: new RetryPolicy({ retries: 2, baseDelayMs: 1 }) })).rejects.toMatchObject({
        code: 'SERVER_ERROR',
        message: expect.stringContaining(`measuring concurrency 1 on ${failing.url}: a request failed`),
      });
      expect(failing.stats().requests).toBe(3);
    } finally {
      await Promise.all([flakyBackend.close(), failingBackend.close()]);
      await Promise.all([flaky.close(), failing.close()]);
    }
  });

  it('rejects bad options', async () => {
    await expect(measureConcurrency({ backend, maxConcurrency: 0 })).rejects.toThrow('expected `maxConcurrency` to be a whole number >= 1, got 0');
  });
});

/**
 * A server with `slots` slots and a fixed service time, on a virtual clock: each request takes
 * the earliest free slot (or waits for one), and answers complete in order of their finish time.
 */
function slottedServer(slots: number, serviceMs: number): { backend: Backend; now: () => number; peak: () => number } {
  let clock = 0;
  let inFlight = 0;
  let peak = 0;
  const free = new Array<number>(slots).fill(0);
  const pending: Array<{ readonly finish: number; readonly resolve: () => void }> = [];
  let stepping = false;
  // Lets every request sent in this turn register before the clock moves to the next finish.
  const step = (): void => {
    if (stepping) return;
    stepping = true;
    setImmediate(() => {
      stepping = false;
      pending.sort((a, b) => a.finish - b.finish);
      const next = pending.shift();
      if (next === undefined) return;
      clock = next.finish;
      next.resolve();
      if (pending.length > 0) step();
    });
  };
  const backend: Backend = {
    type: 'llama-server',
    url: 'http://127.0.0.1:1',
    async complete(request) {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      const onAbort = (): void => undefined;
      request.signal?.addEventListener('abort', onAbort);
      const slot = free.indexOf(Math.min(...free));
      const sentAt = clock;
      const finish = Math.max(clock, free[slot]!) + serviceMs;
      free[slot] = finish;
      await new Promise<void>((resolve) => {
        pending.push({ finish, resolve });
        step();
      });
      request.signal?.removeEventListener('abort', onAbort);
      inFlight -= 1;
      return { statusCode: 200, requestId: 'r', body: {}, promptTokens: 1, completionTokens: 16, timings: { latencyMs: clock - sentAt } };
    },
    describe: async () => ({ type: 'llama-server', models: ['m'], slots }),
    health: async () => 'ok',
    close: async () => undefined,
  };
  return { backend, now: () => clock, peak: () => peak };
}
