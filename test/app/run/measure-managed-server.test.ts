import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { measureManagedServer } from '../../../src/app/run/measure-managed-server.js';
import { writeTinyLlamaGguf } from '../../../src/models/gguf-writer.js';
import { runCliInProcess } from '../../helpers/run-cli-in-process.js';
import { repoRoot } from '../../helpers/sim-process.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-measure-managed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fakeLlamaServer = path.join(repoRoot, 'test/sim/bin/llama-server');

describe('optimize --measure starts its server with the wiring `batch run` uses', () => {
  it('honours --llama-server (the first wave started the embedded server whatever was asked)', async () => {
    const model = path.join(dir, 'm.gguf');
    await writeTinyLlamaGguf(model);
    const notices: string[] = [];
    const curve = await measureManagedServer({
      settings: { models: [model], llamaServer: fakeLlamaServer, llamaServerArgs: '--flash-attn on', gpuLayers: 0, threads: 1, slots: 2, contextSize: 256, startupTimeoutMs: 60_000 },
      cwd: dir,
      // No llama-server on this PATH: only --llama-server can make it one.
      env: { PATH: '/usr/bin:/bin' },
      logDir: path.join(dir, 'logs'),
      notice: (line) => notices.push(line),
      measure: { maxConcurrency: 2, requestsPerLevel: 2 },
    });
    expect(notices[0]).toContain(`starting llama-server (${fakeLlamaServer}) for ${model} with 2 slot(s) × 256 tokens`);
    expect(curve.levels.map((level) => level.concurrency)).toEqual([1, 2]);
  });

  it('through the CLI: `batch optimize --measure --model m.gguf --llama-server BIN`', async () => {
    const model = path.join(dir, 'cli.gguf');
    await writeTinyLlamaGguf(model);
    const result = await runCliInProcess(['optimize', '--measure', '--model', model, '--llama-server', fakeLlamaServer, '--max-concurrency', '2', '--requests-per-level', '2', '--no-save'], {
      env: { BATCH_HOME: path.join(dir, 'home') },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`starting llama-server (${fakeLlamaServer})`);
    expect(result.stdout).toContain('concurrency');
  });

  it('saves the throughput it measured with the advice, for `batch run --dry-run` estimates', async () => {
    const model = path.join(dir, 'saved.gguf');
    await writeTinyLlamaGguf(model);
    const home = path.join(dir, 'home-saved');
    const result = await runCliInProcess(['optimize', '--measure', '--model', model, '--llama-server', fakeLlamaServer, '--max-concurrency', '2', '--requests-per-level', '2'], { env: { BATCH_HOME: home } });
    expect(result.code, result.stderr).toBe(0);
    const { loadAdvice } = await import('../../../src/hardware/saved-advice.js');
    expect(loadAdvice(home)?.measured).toEqual({ model, completionTokensPerSecond: expect.any(Number), concurrency: expect.any(Number) });
    expect(loadAdvice(home)!.measured!.completionTokensPerSecond).toBeGreaterThan(0);
  });
});
