import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DEFAULT_MODEL_FILE, DEMO_MODEL_FILE, DEMO_MODEL_NOTICE, defaultCacheDir, resolveDefaultModel } from '../../src/models/default-model.js';
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
