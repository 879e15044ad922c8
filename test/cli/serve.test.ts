import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { serveCommand } from '../../src/cli/commands/serve.js';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'batch-serve-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function makeIo(softStop: AbortSignal, onStderr: (text: string) => void): CliIo {
  return {
    stdout: new PassThrough(),
    stderr: new Writable({
      write(chunk: Buffer, _encoding, done) {
        onStderr(chunk.toString());
        done();
      },
    }),
    stdin: new PassThrough(),
    env: { BATCH_OFFLINE: '1' },
    cwd: dir,
    isTTY: false,
    softStop,
    hardStop: new AbortController().signal,
  };
}

it('serves in the foreground until the user stops it', async () => {
  const modelPath = join(dir, 'tiny.gguf');
  await writeTinyLlamaGguf(modelPath);
  const stop = new AbortController();
  let stderr = '';
  let onListening: (url: string) => void = () => undefined;
  const listening = new Promise<string>((resolve) => {
    onListening = resolve;
  });
  const io = makeIo(stop.signal, (text) => {
    stderr += text;
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(stderr);
    if (match?.[1] !== undefined) onListening(match[1]);
  });
  const exitCode = serveCommand({ model: modelPath, port: 0, slots: 2, threads: 1, gpu: 'off' }, io);
  const url = await listening;
  expect(stderr).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ \(model tiny\.gguf, 2 slots, ctx 512, 1 thread, CPU\)/);
  const health = await request(`${url}/health`);
  expect(health.statusCode).toBe(200);
  expect(await health.body.json()).toEqual({ status: 'ok' });
  stop.abort();
  expect(await exitCode).toBe(0);
  await expect(request(`${url}/health`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
});

it('fails with MODEL_INVALID before listening on a malformed model', async () => {
  const bad = join(dir, 'no-heads.gguf');
  await writeTinyLlamaGguf(bad, { omitKeys: ['llama.attention.head_count'] });
  const io = makeIo(new AbortController().signal, () => undefined);
  await expect(serveCommand({ model: bad, port: 0 }, io)).rejects.toMatchObject({ code: 'MODEL_INVALID', exitCode: 3 });
});

it('--api-key-env: the key from that variable is required of clients; an unset variable is a usage error', async () => {
  const modelPath = join(dir, 'keyed.gguf');
  await writeTinyLlamaGguf(modelPath);
  const unset = makeIo(new AbortController().signal, () => undefined);
  await expect(serveCommand({ model: modelPath, port: 0, apiKeyEnv: 'SERVE_KEY' }, unset)).rejects.toMatchObject({
    code: 'USAGE',
    message: expect.stringContaining('--api-key-env SERVE_KEY: the environment variable SERVE_KEY is not set'),
  });
  const stop = new AbortController();
  let stderr = '';
  let onListening: (url: string) => void = () => undefined;
  const listening = new Promise<string>((resolve) => {
    onListening = resolve;
  });
  const io = {
    ...makeIo(stop.signal, (text) => {
      stderr += text;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(stderr);
      if (match?.[1] !== undefined) onListening(match[1]);
    }),
    env: { BATCH_OFFLINE: '1', SERVE_KEY: 'open-sesame' },
  };
  const exitCode = serveCommand({ model: modelPath, port: 0, slots: 1, threads: 1, gpu: 'off', apiKeyEnv: 'SERVE_KEY' }, io);
  const url = await listening;
  const refused = await request(`${url}/v1/models`);
  expect(refused.statusCode).toBe(401);
  await refused.body.dump();
  const admitted = await request(`${url}/v1/models`, { headers: { authorization: 'Bearer open-sesame' } });
  expect(admitted.statusCode).toBe(200);
  await admitted.body.dump();
  expect(stderr).not.toContain('open-sesame');
  stop.abort();
  expect(await exitCode).toBe(0);
});
