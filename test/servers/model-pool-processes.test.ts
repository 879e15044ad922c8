import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelCatalog } from '../../src/servers/model-catalog.js';
import { ModelPool } from '../../src/servers/model-pool.js';
import { stopAllServers } from '../../src/servers/server-registry.js';
import { isAlive, makeTempDir, readStartLog, recordingBackend, waitUntilGone, writeSimLlamaServer } from './server-fixtures.js';

// The pool's logic is unit-tested with fake servers (model-pool.test.ts); this checks the
// wiring to real ManagedServer processes: evictions and close() end them, a crash is noticed.
let temp: { dir: string; cleanup: () => void };
beforeEach(() => {
  temp = makeTempDir();
});
afterEach(async () => {
  await stopAllServers(500);
  temp.cleanup();
});

/** Bounded wait for the pool to notice a crash: its only sign is that the model leaves the resident list. */
async function waitUntilNotResident(pool: ModelPool, model: string): Promise<void> {
  for (let i = 0; i < 400 && pool.residentModels().includes(model); i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
  expect(pool.residentModels()).not.toContain(model);
}

describe('ModelPool with real server processes', () => {
  it('stops evicted servers, restarts a killed one, and leaves no process after close()', async () => {
    const startLog = join(temp.dir, 'starts.jsonl');
    const binary = writeSimLlamaServer(temp.dir, { SIM_START_LOG: startLog });
    // Real GGUF headers: the pool reads and checks each model before it starts a server.
    for (const model of ['a', 'b']) await writeTinyLlamaGguf(join(temp.dir, `${model}.gguf`));
    const pool = new ModelPool({
      catalog: new ModelCatalog({ models: ['a.gguf', 'b.gguf'], cwd: temp.dir }),
      launch: { kind: 'llama-server', binary },
      createBackend: (_type, { url }) => recordingBackend(url),
      logDir: join(temp.dir, 'logs'),
      maxModels: 1,
      slots: 2,
      contextSize: 512,
      stopGraceMs: 1000,
      restartBackoffMs: 10,
    });
    try {
      for (const model of ['a', 'b']) (await pool.acquire(model)).release();
      const [a, b] = readStartLog(startLog);
      expect(isAlive(a!.pid)).toBe(false);
      expect(isAlive(b!.pid)).toBe(true);

      process.kill(b!.pid, 'SIGKILL');
      await waitUntilNotResident(pool, 'b');
      (await pool.acquire('b')).release();
      const starts = readStartLog(startLog);
      expect(starts.map((start) => start.model.replace(/^.*[\\/]/, ''))).toEqual(['a.gguf', 'b.gguf', 'b.gguf']);
      expect(pool.stats().find((stat) => stat.model === 'b')).toMatchObject({ loads: 2, restarts: 1 });
    } finally {
      await pool.close();
    }
    const last = readStartLog(startLog).at(-1)!;
    expect(await waitUntilGone(last.pid)).toBe(true);
  });
});
