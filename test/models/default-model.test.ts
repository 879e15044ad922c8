import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_FILE, DEFAULT_MODEL_URI, DOWNLOAD_FAILED_MARKER, DEMO_MODEL_FILE, DEMO_MODEL_NOTICE, defaultCacheDir, resolveDefaultModel } from '../../src/models/default-model.js';
import { readGgufInfo } from '../../src/models/gguf-reader.js';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';

// Offline always: these tests never reach beyond 127.0.0.1.
const env = { BATCH_OFFLINE: '1' };
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'batch-models-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('generates the demo model offline, then reuses it', async () => {
  const cacheDir = join(dir, 'cache');
  const lines: string[] = [];
  const first = await resolveDefaultModel({ env: { ...env, BATCH_MODELS_DIR: cacheDir }, log: (line) => lines.push(line) });
  expect(first).toEqual({ path: join(cacheDir, DEMO_MODEL_FILE), isDemo: true, notice: DEMO_MODEL_NOTICE });
  expect(lines).toEqual([]);
  const info = await readGgufInfo(first.path);
  expect(info).toMatchObject({ architecture: 'llama', embeddingLength: 64, blockCount: 2 });
  const before = await stat(first.path);
  const second = await resolveDefaultModel({ cacheDir, env });
  expect(second.path).toBe(first.path);
  expect((await stat(second.path)).mtimeMs).toBe(before.mtimeMs);
});

it('treats CI as offline and prefers a cached real model', async () => {
  await writeTinyLlamaGguf(join(dir, DEFAULT_MODEL_FILE), { name: 'stand-in for the real default' });
  const chosen = await resolveDefaultModel({ cacheDir: dir, env: { CI: 'true' } });
  expect(chosen).toEqual({ path: join(dir, DEFAULT_MODEL_FILE), isDemo: false });
});

it('replaces a corrupt demo model', async () => {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, DEMO_MODEL_FILE), 'half a file');
  const chosen = await resolveDefaultModel({ cacheDir: dir, env });
  expect(chosen.isDemo).toBe(true);
  expect((await readGgufInfo(chosen.path)).blockCount).toBe(2);
});

it('keeps the cache outside the project unless BATCH_MODELS_DIR says otherwise', () => {
  expect(defaultCacheDir({})).toBe(join(os.homedir(), '.cache', 'batch', 'models'));
  expect(defaultCacheDir({ BATCH_MODELS_DIR: '/data/models' })).toBe('/data/models');
});

describe('download from a Hugging Face mirror on 127.0.0.1', () => {
  let mirror: Server;
  let mirrorUrl: string;
  let mode: 'serve' | 'fail' | 'hang' = 'serve';
  let modelBytes: Buffer;
  const requested: string[] = [];

  beforeAll(async () => {
    const source = join(os.tmpdir(), `batch-mirror-${process.pid}.gguf`);
    await writeTinyLlamaGguf(source, { name: 'served by the mirror' });
    modelBytes = await readFile(source);
    await rm(source);
    mirror = createServer((request, response) => {
      requested.push(request.url ?? '');
      if (mode === 'hang') return;
      if (mode === 'fail') {
        response.writeHead(500).end('{"error":"down"}');
        return;
      }
      response.writeHead(200, { 'content-length': modelBytes.length, 'content-type': 'application/octet-stream' }).end(modelBytes);
    });
    await new Promise<void>((done) => mirror.listen(0, '127.0.0.1', done));
    mirrorUrl = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    mirror.closeAllConnections();
    await new Promise((done) => mirror.close(done));
  });

  it('downloads the default model once and then uses the cached copy', async () => {
    mode = 'serve';
    requested.length = 0;
    const lines: string[] = [];
    const chosen = await resolveDefaultModel({ cacheDir: dir, env: {}, offline: false, huggingFaceEndpoint: mirrorUrl, log: (line) => lines.push(line) });
    expect(chosen).toMatchObject({ path: join(dir, DEFAULT_MODEL_FILE), isDemo: false });
    expect(chosen.notice).toContain(`using ${DEFAULT_MODEL_FILE}`);
    expect(requested[0]).toContain(DEFAULT_MODEL_URI.replace(/^hf:/, '').replace(/\/([^/]+)$/, '/resolve/main/$1'));
    expect(lines.at(-1)).toContain('100%');
    expect((await readGgufInfo(chosen.path)).name).toBe('served by the mirror');
    const count = requested.length;
    expect(await resolveDefaultModel({ cacheDir: dir, env: {}, offline: false, huggingFaceEndpoint: mirrorUrl })).toEqual({ path: chosen.path, isDemo: false });
    expect(requested.length).toBe(count);
  });

  it.each(['fail', 'hang'] as const)('falls back to the demo model when the mirror %s', async (behaviour) => {
    mode = behaviour;
    const lines: string[] = [];
    const chosen = await resolveDefaultModel({ cacheDir: dir, env: {}, offline: false, huggingFaceEndpoint: mirrorUrl, stallTimeoutMs: 300, log: (line) => lines.push(line) });
    expect(chosen).toEqual({ path: join(dir, DEMO_MODEL_FILE), isDemo: true, notice: DEMO_MODEL_NOTICE });
    expect(lines.join('\n')).toContain(`could not download ${DEFAULT_MODEL_URI}`);
    if (behaviour === 'hang') expect(lines.join('\n')).toContain('no progress for 300 ms');
  });

  it('does not retry a failed download for a day, unless the marker is deleted', async () => {
    mode = 'fail';
    await resolveDefaultModel({ cacheDir: dir, env: {}, offline: false, huggingFaceEndpoint: mirrorUrl, stallTimeoutMs: 300 });
    requested.length = 0;
    const lines: string[] = [];
    const again = await resolveDefaultModel({ cacheDir: dir, env: {}, offline: false, huggingFaceEndpoint: mirrorUrl, stallTimeoutMs: 300, log: (line) => lines.push(line) });
    expect(again.isDemo).toBe(true);
    expect(requested).toEqual([]);
    expect(lines.join('\n')).toContain(`delete ${join(dir, DOWNLOAD_FAILED_MARKER)} to try again`);
    await rm(join(dir, DOWNLOAD_FAILED_MARKER));
    mode = 'serve';
    const fetched = await resolveDefaultModel({ cacheDir: dir, env: {}, offline: false, huggingFaceEndpoint: mirrorUrl });
    expect(fetched).toMatchObject({ path: join(dir, DEFAULT_MODEL_FILE), isDemo: false });
    expect(requested.length).toBeGreaterThan(0);
  });
});
