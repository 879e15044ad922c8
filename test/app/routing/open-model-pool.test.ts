import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../../src/models/gguf-writer.js';
import { openModelPool, type ManagedServerSettings } from '../../../src/app/routing/open-model-pool.js';

let dir: string;
let withLlamaServer: Record<string, string>;
let withNone: Record<string, string>;
let base: ManagedServerSettings;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-open-model-pool-'));
  await writeTinyLlamaGguf(path.join(dir, 'a.gguf'));
  base = { models: [path.join(dir, 'a.gguf')], slots: 2, contextSize: 256, maxModels: 1, startupTimeoutMs: 10_000, threads: 1 };
  // A llama-server on PATH, as `batch setup llama-server` or a package would leave one; nothing is started.
  writeFileSync(path.join(dir, 'llama-server'), '#!/bin/sh\nexit 1\n');
  chmodSync(path.join(dir, 'llama-server'), 0o755);
  withLlamaServer = { PATH: dir };
  withNone = { PATH: path.join(dir, 'empty'), BATCH_LLAMA_CPP_DIR: path.join(dir, 'no-cache') };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));


async function describeWith(settings: Partial<ManagedServerSettings>, env: Record<string, string>): Promise<string> {
  const { pool, description } = await openModelPool({ ...base, ...settings }, { env, cwd: dir, logDir: path.join(dir, 'logs') });
  await pool.close();
  return description;
}

describe('openModelPool: --engine chooses the server that runs managed models', () => {
  it('auto (the default) keeps the old rule: llama-server when one is found, else the embedded server', async () => {
    expect(await describeWith({}, withLlamaServer)).toBe(`llama-server (${path.join(dir, 'llama-server')})`);
    expect(await describeWith({ engine: 'auto' }, withNone)).toMatch(/^embedded llama\.cpp server/);
  });

  it('embedded runs the embedded server although llama-server is found', async () => {
    expect(await describeWith({ engine: 'embedded' }, withLlamaServer)).toMatch(/^embedded llama\.cpp server, 1 thread/);
  });

  it('--gpu-layers reaches the embedded server too (node-llama-cpp gpuLayers), not only llama-server', async () => {
    expect(await describeWith({ engine: 'embedded', gpuLayers: 3 }, withLlamaServer)).toBe('embedded llama.cpp server, 1 thread(s), 3 GPU layer(s)');
  });

  it('llama-server with none found says how to get one', async () => {
    await expect(describeWith({ engine: 'llama-server' }, withNone)).rejects.toThrow(
      `--engine llama-server: no llama-server found (none on PATH, none built in ${path.join(dir, 'no-cache')}); run \`batch setup llama-server\` to build one, pass --llama-server BIN, or use --engine embedded`,
    );
    expect(await describeWith({ engine: 'llama-server' }, withLlamaServer)).toMatch(/^llama-server \(/);
  });

  it('refuses --llama-server-args the embedded server would ignore, and --llama-server with --engine embedded', async () => {
    await expect(describeWith({ engine: 'embedded', llamaServerArgs: '--flash-attn on' }, withLlamaServer)).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining(`--llama-server-args "--flash-attn on" are for llama-server, but --engine embedded runs the embedded server, which would ignore them`),
    });
    await expect(describeWith({ llamaServerArgs: '--flash-attn on' }, withNone)).rejects.toThrow(/no llama-server was found .* so the embedded server runs the models, which would ignore them/);
    // '' is none: a cleared --llama-server-args.
    expect(await describeWith({ engine: 'embedded', llamaServerArgs: '' }, withLlamaServer)).toMatch(/^embedded/);
    await expect(describeWith({ engine: 'embedded', llamaServer: path.join(dir, 'llama-server') }, withLlamaServer)).rejects.toThrow('--engine embedded runs the embedded server, yet --llama-server names');
  });

  it('refuses --llama-server-args that set a flag batch owns, naming the batch flag to use', async () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ['--port 8080', '--port is set by batch on every managed server; batch picks a free port for each managed server'],
      ['--host=0.0.0.0', '--host is set by batch on every managed server; batch binds every managed server to 127.0.0.1'],
      ['-m /other.gguf', '-m is set by batch on every managed server; pass the model with --model'],
      ['--flash-attn on -np 8', '-np is set by batch on every managed server; use --slots'],
      ['-c 8192', '-c is set by batch on every managed server; use --ctx'],
      ['--api-key k', '--api-key is set by batch on every managed server'],
      ['-ngl 99', '-ngl is set by batch on every managed server; use --gpu-layers'],
      ['--threads 4', '--threads is set by batch on every managed server; use --threads'],
    ];
    for (const [args, message] of cases) {
      await expect(describeWith({ llamaServerArgs: args }, withLlamaServer), args).rejects.toThrow(message);
    }
    expect(await describeWith({ llamaServerArgs: '--flash-attn on --no-warmup' }, withLlamaServer)).toMatch(/^llama-server/);
  });
});
