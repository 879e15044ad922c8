import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { spawnEmbedded, stopEmbedded, type EmbeddedProcess } from './embedded-process.js';

let dir: string;
let modelPath: string;
const started: EmbeddedProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'batch-embedded-life-'));
  modelPath = join(dir, 'tiny.gguf');
  await writeTinyLlamaGguf(modelPath);
});

afterAll(async () => {
  for (const server of started) await stopEmbedded(server);
  await rm(dir, { recursive: true, force: true });
});

function spawn(args: readonly string[]): EmbeddedProcess {
  const server = spawnEmbedded([...args, '--parallel', '1', '--ctx', '256']);
  started.push(server);
  return server;
}

it('refuses a model llama.cpp would abort on, with MODEL_INVALID and exit code 3', async () => {
  const bad = join(dir, 'no-ff.gguf');
  await writeTinyLlamaGguf(bad, { omitKeys: ['llama.feed_forward_length'] });
  const server = spawn(['--model', bad, '--port', '0']);
  const event = await server.nextEvent();
  expect(event).toMatchObject({ event: 'error', code: 'MODEL_INVALID' });
  expect(String(event['message'])).toContain('missing llama.feed_forward_length');
  expect(await server.exited).toEqual({ code: 3, signal: null });
});

it('reports a missing model file and exits 2 (the path is the user\'s)', async () => {
  const server = spawn(['--model', join(dir, 'absent.gguf')]);
  expect(await server.nextEvent()).toMatchObject({ event: 'error', code: 'MODEL_FILE_NOT_FOUND' });
  expect((await server.exited).code).toBe(2);
});

it('rejects bad flags with exit code 2', async () => {
  const server = spawn(['--model', modelPath, '--gpu', 'maybe']);
  expect(String((await server.nextEvent())['message'])).toContain('expected `--gpu` to be "auto" or "off", got "maybe"');
  expect((await server.exited).code).toBe(2);
});

it('exits when its parent closes stdin', async () => {
  const server = spawn(['--model', modelPath, '--port', '0']);
  expect(await server.nextEvent()).toMatchObject({ event: 'listening' });
  server.child.stdin.end();
  expect(await server.exited).toEqual({ code: 0, signal: null });
});

it('exits cleanly on SIGTERM once ready', async () => {
  const server = spawn(['--model', modelPath, '--port', '0']);
  expect(await server.nextEvent()).toMatchObject({ event: 'listening' });
  expect(await server.nextEvent()).toMatchObject({ event: 'ready' });
  server.child.kill('SIGTERM');
  expect(await server.exited).toEqual({ code: 0, signal: null });
});
