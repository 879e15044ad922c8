import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { NO_LLAMA_SERVER, realLlamaServer } from '../helpers/real-llama-server.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';

// `batch bench --model` times the loads and requests of a managed server: with the real binary.
const binary = realLlamaServer();
if (binary === undefined) console.warn(NO_LLAMA_SERVER);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-llama-server-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(binary === undefined)('batch bench on a real llama-server', () => {
  it('times cold loads, warm requests one at a time and through the pool, and saves them for the report', async () => {
    const model = path.join(dir, 'tiny.gguf');
    await writeTinyLlamaGguf(model, { contextLength: 2048 });
    const env = { BATCH_HOME: path.join(dir, 'home') };
    const bench = await runCliInProcess(['bench', '--model', model, '--llama-server', binary!, '--threads', '1', '--loads', '2', '--requests', '8'], { env });
    expect(bench.code, bench.stderr).toBe(0);
    expect(bench.stdout).toMatch(/cold load +2 start\(s\): [\d.]+m?s, [\d.]+m?s/);
    expect(bench.stdout).toMatch(/warm, one at a time +8 requests in [\d.]+m?s/);
    expect(bench.stdout).toMatch(/pool, \d+ worker\(s\) +8 requests in [\d.]+m?s/);
    const report = await runCliInProcess(['report', 'bench'], { env });
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain(model);
  }, 120_000);
});
