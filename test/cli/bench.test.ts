import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { waitForNoProcesses } from '../helpers/processes.js';
import { startSimServer } from '../sim/sim-server.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-bench-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('batch bench', () => {
  it('times cold loads and warm requests of the generated model on the embedded server, and batch report shows them', async () => {
    const model = path.join(dir, 'tiny.gguf');
    await writeTinyLlamaGguf(model);
    const env = { BATCH_HOME: path.join(dir, 'home-embedded') };
    const result = await runCliInProcess(['bench', '--model', model, '--loads', '2', '--requests', '6', '--max-tokens', '4', '--slots', '2', '--threads', '1'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/cold load +2 start\(s\): \S+, \S+ \(mean \S+\)/);
    expect(result.stdout).toMatch(/warm, one at a time +6 requests in \S+: [\d.]+ req\/s, [\d.]+ tok\/s, p50 \S+ +p95 \S+ +p99 \S+/);
    expect(result.stdout).toMatch(/pool, 2 worker\(s\) +6 requests/);
    expect(result.stdout).toMatch(/load vs warm +a cold load costs [\d.]+× a warm request/);
    expect(result.stdout).toMatch(/pool vs one at a time +×[\d.]+ requests per second with 2 worker\(s\)/);
    expect(await waitForNoProcesses(model)).toEqual([]);

    const report = await runCliInProcess(['report', 'bench', '--json'], { env });
    expect(report.code, report.stderr).toBe(0);
    const [bench] = JSON.parse(report.stdout).benches;
    expect(bench.coldLoadsMs).toHaveLength(2);
    expect(bench.coldLoadsMs.every((ms: number) => ms > 0)).toBe(true);
    expect(bench.sequential.requests).toBe(6);
    expect(bench.pool).toMatchObject({ requests: 6, concurrency: 2 });
  }, 300_000);

  it('against a running server: every prompt sent once per phase, no cold load claimed, and the latency at least its service time', async () => {
    const sim = await startSimServer({ slots: 4, serviceMs: 20 });
    try {
      const env = { BATCH_HOME: path.join(dir, 'home-server') };
      const result = await runCliInProcess(['bench', '--server', sim.url, '--requests', '8', '--json'], { env });
      expect(result.code, result.stderr).toBe(0);
      const bench = JSON.parse(result.stdout);
      expect(bench.coldLoadsMs).toEqual([]);
      // The first request, then the 8 one at a time, then the same 8 through 4 workers (the server's slots).
      expect(sim.stats().requests).toBe(17);
      expect(sim.stats().maxInService).toBe(4);
      expect(bench.pool.concurrency).toBe(4);
      expect(bench.sequential.latencyMs.p50).toBeGreaterThanOrEqual(20);
      const text = await runCliInProcess(['report', 'bench'], { env });
      expect(text.stdout).toContain('not measurable: a running server keeps its model loaded');
    } finally {
      await sim.close();
    }
  });

  it('retries a transient 500 as batch run does, instead of giving up the bench', async () => {
    const sim = await startSimServer({ slots: 2, serviceMs: 1, script: (n) => (n === 3 ? '500' : undefined) });
    try {
      const result = await runCliInProcess(['bench', '--server', sim.url, '--requests', '4', '--json'], { env: { BATCH_HOME: path.join(dir, 'home-retry') } });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain('a bench request failed');
      expect(result.stderr).toContain('sending it again (retry 1 of 5)');
      const bench = JSON.parse(result.stdout);
      expect(bench.sequential.requests).toBe(4);
      expect(bench.pool.requests).toBe(4);
      // 1 + 4 + 4 answers, and the one 500.
      expect(sim.stats().requests).toBe(10);
      expect(sim.stats().faults['500']).toBe(1);
    } finally {
      await sim.close();
    }
  });

  it('refuses --server with --model before anything starts', async () => {
    const result = await runCliInProcess(['bench', '--server', 'http://127.0.0.1:9', '--model', 'x.gguf'], { env: { BATCH_HOME: path.join(dir, 'home-both') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--server (a running server) or --model (a managed one), not both');
  });
});
