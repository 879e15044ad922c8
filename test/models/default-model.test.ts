import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_FILE, DEFAULT_MODEL_URI, DOWNLOAD_FAILED_MARKER, DEMO_MODEL_FILE, DEMO_MODEL_NOTICE, defaultCacheDir, resolveDefaultModel } from '../../src/models/default-model.js';
import { readGgufInfo } from '../../src/models/gguf-reader.js';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { closedPortUrl } from '../helpers/closed-port-url.js';

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

it('prefers a cached real model, even offline', async () => {
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

/** A Hugging Face mirror on 127.0.0.1 that serves `bytes`, answers 500, or never answers. */
interface Mirror {
  readonly url: string;
  /** The paths asked for, in order. */
  readonly requested: string[];
  mode: 'serve' | 'fail' | 'hang';
  close(): Promise<void>;
}

async function startMirror(bytes: Buffer): Promise<Mirror> {
  const requested: string[] = [];
  const state = { mode: 'serve' as Mirror['mode'] };
  const server: Server = createServer((request, response) => {
    requested.push(request.url ?? '');
    if (state.mode === 'hang') return;
    if (state.mode === 'fail') {
      response.writeHead(500).end('{"error":"down"}');
      return;
    }
    response.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' }).end(bytes);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requested,
    get mode() {
      return state.mode;
    },
    set mode(mode) {
      state.mode = mode;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}

// Each test has a mirror of its own: a downloader that gives up may still send a late request,
// which must not land in the next test's counts.
describe('download from a Hugging Face mirror on 127.0.0.1', () => {
  let modelBytes: Buffer;
  let mirror: Mirror;

  beforeAll(async () => {
    const source = join(os.tmpdir(), `batch-mirror-${process.pid}.gguf`);
    await writeTinyLlamaGguf(source, { name: 'served by the mirror' });
    modelBytes = await readFile(source);
    await rm(source);
  });
  beforeEach(async () => {
    mirror = await startMirror(modelBytes);
  });
  afterEach(async () => {
    await mirror.close();
  });

  it('downloads the default model once and then uses the cached copy', async () => {
    const lines: string[] = [];
    const chosen = await resolveDefaultModel({ cacheDir: dir, env: {}, offline: false, huggingFaceEndpoint: mirror.url, log: (line) => lines.push(line) });
    expect(chosen).toMatchObject({ path: join(dir, DEFAULT_MODEL_FILE), isDemo: false });
    expect(chosen.notice).toContain(`using ${DEFAULT_MODEL_FILE}`);
    expect(mirror.requested[0]).toContain(DEFAULT_MODEL_URI.replace(/^hf:/, '').replace(/\/([^/]+)$/, '/resolve/main/$1'));
    expect(lines.at(-1)).toContain('100%');
    expect((await readGgufInfo(chosen.path)).name).toBe('served by the mirror');
    const count = mirror.requested.length;
    expect(await resolveDefaultModel({ cacheDir: dir, env: {}, offline: false, huggingFaceEndpoint: mirror.url })).toEqual({ path: chosen.path, isDemo: false });
    expect(mirror.requested.length).toBe(count);
  });

  it('treats CI as offline: no request reaches the mirror, and no failure is remembered; CI=false or 0 downloads', async () => {
    for (const ci of ['true', '1', 'yes']) {
      const cacheDir = join(dir, `ci-${ci}`);
      const chosen = await resolveDefaultModel({ cacheDir, env: { CI: ci, HF_ENDPOINT: mirror.url } });
      expect(chosen).toEqual({ path: join(cacheDir, DEMO_MODEL_FILE), isDemo: true, notice: DEMO_MODEL_NOTICE });
      await expect(stat(join(cacheDir, DOWNLOAD_FAILED_MARKER))).rejects.toThrow('ENOENT');
    }
    expect(mirror.requested).toEqual([]);
    for (const ci of ['false', '0', '']) {
      const cacheDir = join(dir, `not-ci-${ci || 'empty'}`);
      const before = mirror.requested.length;
      expect(await resolveDefaultModel({ cacheDir, env: { CI: ci, HF_ENDPOINT: mirror.url } })).toMatchObject({ path: join(cacheDir, DEFAULT_MODEL_FILE), isDemo: false });
      expect(mirror.requested.length).toBeGreaterThan(before);
    }
  });

  it.each(['fail', 'hang'] as const)('falls back to the demo model when the mirror %s', async (behaviour) => {
    mirror.mode = behaviour;
    const lines: string[] = [];
    const chosen = await resolveDefaultModel({ cacheDir: dir, env: {}, offline: false, huggingFaceEndpoint: mirror.url, stallTimeoutMs: 300, log: (line) => lines.push(line) });
    expect(chosen).toEqual({ path: join(dir, DEMO_MODEL_FILE), isDemo: true, notice: DEMO_MODEL_NOTICE });
    expect(lines.join('\n')).toContain(`could not download ${DEFAULT_MODEL_URI}`);
    if (behaviour === 'hang') expect(lines.join('\n')).toContain('no progress for 300 ms');
  });

  it('falls back to the demo model at once when the mirror refuses the connection, not after the stall timeout', async () => {
    const lines: string[] = [];
    const refused = await closedPortUrl();
    // A stall timeout far beyond the test's own: the fallback must not wait for it.
    const chosen = await resolveDefaultModel({ cacheDir: dir, env: {}, offline: false, huggingFaceEndpoint: refused, stallTimeoutMs: 600_000, log: (line) => lines.push(line) });
    expect(chosen).toEqual({ path: join(dir, DEMO_MODEL_FILE), isDemo: true, notice: DEMO_MODEL_NOTICE });
    expect(lines).toContain(`could not download ${DEFAULT_MODEL_URI}: cannot reach ${refused} (ECONNREFUSED)`);
  });

  it('does not retry a failed download for a day, unless the marker is deleted', async () => {
    const failing = mirror;
    failing.mode = 'fail';
    await resolveDefaultModel({ cacheDir: dir, env: {}, offline: false, huggingFaceEndpoint: failing.url, stallTimeoutMs: 300 });
    // The second call goes to a mirror that has seen nothing yet: any request it gets is a retry.
    const untouched = await startMirror(modelBytes);
    try {
      const lines: string[] = [];
      const again = await resolveDefaultModel({ cacheDir: dir, env: {}, offline: false, huggingFaceEndpoint: untouched.url, stallTimeoutMs: 300, log: (line) => lines.push(line) });
      expect(again.isDemo).toBe(true);
      expect(untouched.requested).toEqual([]);
      expect(lines.join('\n')).toContain(`delete ${join(dir, DOWNLOAD_FAILED_MARKER)} to try again`);
      await rm(join(dir, DOWNLOAD_FAILED_MARKER));
      const fetched = await resolveDefaultModel({ cacheDir: dir, env: {}, offline: false, huggingFaceEndpoint: untouched.url });
      expect(fetched).toMatchObject({ path: join(dir, DEFAULT_MODEL_FILE), isDemo: false });
      expect(untouched.requested.length).toBeGreaterThan(0);
    } finally {
      await untouched.close();
    }
  });
});
