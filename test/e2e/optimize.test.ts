import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { startSimServer } from '../sim/sim-server.js';
import { runCli } from '../helpers/run-cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-e2e-optimize-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('batch optimize, as a user runs it', () => {
  it('prints a CPU plan as JSON on this machine (no GPU) and saves it for batch run', async () => {
    const home = path.join(dir, 'home');
    const result = await runCli(['optimize', '--json'], { env: { BATCH_HOME: home } });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.hardware.cpu.physicalCores).toBeGreaterThanOrEqual(1);
    if (report.hardware.gpus.length === 0) {
      expect(report.plan.models.every((m: { pool: string }) => m.pool === 'ram')).toBe(true);
      const cores = report.hardware.cpu.physicalCores;
      expect(report.plan.threads).toBe(cores <= 4 ? Math.max(1, cores - 1) : cores);
    }
    const saved = JSON.parse(readFileSync(path.join(home, 'advice.json'), 'utf8'));
    expect(saved.workers).toBe(report.plan.workers);
  });

  it("reports a model's true layer and head counts from its GGUF header", async () => {
    const model = path.join(dir, 'five-layers.gguf');
    await writeTinyLlamaGguf(model, { blockCount: 5, headCount: 8, headCountKv: 2, embeddingLength: 128 });
    const result = await runCli(['optimize', '--model', model, '--no-save', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const [profile] = JSON.parse(result.stdout).models;
    expect(profile).toMatchObject({ layers: 5, heads: 8, kvHeads: 2, headDim: 16 });
    const text = await runCli(['optimize', '--model', model, '--no-save']);
    expect(text.stdout).toMatch(/five-layers\s+\S+\s+\S+ GiB\s+5\s+8\s+2\s+16/);
  });

  it('--measure against a server with 8 slots recommends 8 workers', async () => {
    const sim = await startSimServer({ slots: 8, serviceMs: 40 });
    try {
      const chart = path.join(dir, 'curve.svg');
      const result = await runCli(['optimize', '--measure', '--server', sim.url, '--max-concurrency', '32', '--chart', chart, '--no-save', '--json']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).curve.recommended).toBe(8);
      expect(readFileSync(chart, 'utf8')).toMatch(/^<svg/);
    } finally {
      await sim.close();
    }
  });
});
