import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { ServerError } from '../../src/errors.js';
import { ModelCatalog } from '../../src/servers/model-catalog.js';
import type { ModelMemoryEstimate } from '../../src/servers/model-memory.js';
import { ModelPool, type ModelPoolOptions } from '../../src/servers/model-pool.js';
import { stopAllServers } from '../../src/servers/server-registry.js';
import { isAlive, makeTempDir, readStartLog, recordingBackend, waitUntilGone, writeFakeModel, writeSimLlamaServer } from './server-fixtures.js';

const GiB = 2 ** 30;
let temp: { dir: string; cleanup: () => void };
let startLog: string;
let pools: ModelPool[];
beforeEach(() => {
  temp = makeTempDir();
  startLog = join(temp.dir, 'starts.jsonl');
  pools = [];
});
afterEach(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
  await stopAllServers(500);
  temp.cleanup();
});

function makePool(models: readonly string[], options: Partial<ModelPoolOptions> = {}, env: Record<string, string> = {}): ModelPool {
  const binary = writeSimLlamaServer(temp.dir, { SIM_START_LOG: startLog, ...env });
  for (const model of models) writeFakeModel(temp.dir, `${model}.gguf`);
  const pool = new ModelPool({
    catalog: new ModelCatalog({ models: models.map((model) => `${model}.gguf`), cwd: temp.dir }),
    launch: { kind: 'llama-server', binary },
    createBackend: (_type, { url }) => recordingBackend(url),
    logDir: join(temp.dir, 'logs'),
    slotsPerServer: 2,
    contextSize: 512,
    stopGraceMs: 1000,
    restartBackoffMs: 10,
    ...options,
  });
  pools.push(pool);
  return pool;
}

async function use(pool: ModelPool, model: string): Promise<Backend> {
  const lease = await pool.acquire(model);
  lease.release();
  return lease.backend;
}

function startedModels(): string[] {
  return readStartLog(startLog).map((record) => record.model.replace(/^.*[\\/]/, '').replace('.gguf', ''));
}

/** Bounded wait for the pool to notice a crash (its only sign is that the model leaves the resident list). */
async function waitUntilNotResident(pool: ModelPool, model: string): Promise<void> {
  for (let i = 0; i < 400 && pool.residentModels().includes(model); i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
  expect(pool.residentModels()).not.toContain(model);
}

describe('ModelPool', () => {
  it('with maxModels 1, A B C A starts four servers and stops each evicted one', async () => {
    const pool = makePool(['a', 'b', 'c'], { maxModels: 1 });
    for (const model of ['a', 'b', 'c', 'a']) await use(pool, model);
    expect(startedModels()).toEqual(['a', 'b', 'c', 'a']);
    const pids = readStartLog(startLog).map((record) => record.pid);
    for (const pid of pids.slice(0, 3)) expect(isAlive(pid)).toBe(false);
    expect(isAlive(pids[3]!)).toBe(true);
    expect(pool.residentModels()).toEqual(['a']);
    expect(pool.stats().find((stat) => stat.model === 'a')).toMatchObject({ loads: 2, restarts: 0, requestsServed: 2 });
    expect(pool.stats().find((stat) => stat.model === 'a')!.loadMsTotal).toBeGreaterThan(0);
    await pool.close();
    expect(await waitUntilGone(pids[3]!)).toBe(true);
  });

  it('with maxModels 2, keeps the two most recently used', async () => {
    const pool = makePool(['a', 'b', 'c'], { maxModels: 2 });
    const first = await use(pool, 'a');
    await use(pool, 'b');
    await use(pool, 'a');
    await use(pool, 'c');
    expect(pool.residentModels()).toEqual(['c', 'a']);
    expect(startedModels()).toEqual(['a', 'b', 'c']);
    expect(await use(pool, 'a')).toBe(first);
    expect(startedModels()).toHaveLength(3);
    expect(isAlive(readStartLog(startLog)[1]!.pid)).toBe(false);
  });

  it('starts a model once for concurrent acquires', async () => {
    const pool = makePool(['a'], {}, { SIM_LOAD_MS: '300' });
    const leases = await Promise.all([pool.acquire('a'), pool.acquire(undefined), pool.acquire('a.gguf')]);
    expect(startedModels()).toEqual(['a']);
    expect(new Set(leases.map((lease) => lease.backend)).size).toBe(1);
    expect(leases.map((lease) => lease.model)).toEqual(['a', 'a', 'a']);
    for (const lease of leases) lease.release();
  });

  it('waits for a busy server to become idle before evicting it', async () => {
    const pool = makePool(['a', 'b'], { maxModels: 1 });
    const leaseA = await pool.acquire('a');
    let gotB = false;
    const pendingB = pool.acquire('b').then((lease) => {
      gotB = true;
      return lease;
    });
    for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(gotB).toBe(false);
    expect(startedModels()).toEqual(['a']);
    leaseA.release();
    const leaseB = await pendingB;
    expect(startedModels()).toEqual(['a', 'b']);
    expect(isAlive(readStartLog(startLog)[0]!.pid)).toBe(false);
    leaseB.release();
  });

  it('evicts idle models to fit the memory budget and rejects a model too large alone', async () => {
    const sizes: Record<string, ModelMemoryEstimate> = {
      a: { weightsBytes: 5 * GiB, kvCacheBytes: 1 * GiB, totalBytes: 6 * GiB },
      b: { weightsBytes: 5 * GiB, kvCacheBytes: 1 * GiB, totalBytes: 6 * GiB },
      c: { weightsBytes: 2 * GiB, kvCacheBytes: 1 * GiB, totalBytes: 3 * GiB },
      d: { weightsBytes: 20 * GiB, kvCacheBytes: 4 * GiB, totalBytes: 24 * GiB },
    };
    const pool = makePool(['a', 'b', 'c', 'd'], {
      maxModels: 3,
      memoryBudgetBytes: 10 * GiB,
      estimateModelMemory: (path) => Promise.resolve(sizes[path.replace(/^.*[\\/]/, '').replace('.gguf', '')]!),
    });
    await use(pool, 'a');
    await use(pool, 'b');
    expect(pool.residentModels()).toEqual(['b']);
    await use(pool, 'c');
    expect(pool.residentModels()).toEqual(['c', 'b']);
    const error = await pool.acquire('d').then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).code).toBe('MODEL_TOO_LARGE');
    expect((error as Error).message).toBe(
      'model d.gguf needs ~24.00 GiB (weights 20.00 GiB + KV cache 4.00 GiB for 2 slots × 512 ctx) but the budget is 10.00 GiB; use fewer slots (--slots), a smaller --ctx, or a smaller quantisation',
    );
    expect(startedModels()).toEqual(['a', 'b', 'c']);
    expect(pool.residentModels()).toEqual(['c', 'b']);
  });

  it('restarts a crashed server on the next acquire, then fails with SERVER_CRASHED past the budget', async () => {
    const pool = makePool(['a'], { maxRestarts: 1 });
    const backendBefore = (await use(pool, 'a')) as Backend & { closed: boolean };
    process.kill(readStartLog(startLog)[0]!.pid, 'SIGKILL');
    await waitUntilNotResident(pool, 'a');
    expect(backendBefore.closed).toBe(true);
    await use(pool, 'a');
    expect(startedModels()).toEqual(['a', 'a']);
    expect(pool.stats()).toEqual([expect.objectContaining({ model: 'a', loads: 2, restarts: 1 })]);

    process.kill(readStartLog(startLog)[1]!.pid, 'SIGKILL');
    await waitUntilNotResident(pool, 'a');
    const error = await pool.acquire('a').then(() => undefined, (caught: unknown) => caught);
    expect((error as ServerError).code).toBe('SERVER_CRASHED');
    expect((error as Error).message).toContain('restarted 1 times, the limit');
    expect((error as Error).message).toContain(join(temp.dir, 'logs', 'a-2.log'));
    expect(startedModels()).toHaveLength(2);
  });

  it('fails only the unknown or broken model, and does not retry a failed start', async () => {
    const pool = makePool(['a']);
    rmSync(join(temp.dir, 'a.gguf'));
    const unknown = await pool.acquire('x').then(() => undefined, (caught: unknown) => caught);
    expect((unknown as ServerError).code).toBe('MODEL_NOT_FOUND');
    const first = await pool.acquire('a').then(() => undefined, (caught: unknown) => caught);
    expect((first as ServerError).code).toBe('SERVER_NOT_READY');
    expect((first as Error).message).toContain(join(temp.dir, 'logs', 'a-1.log'));
    const second = await pool.acquire('a').then(() => undefined, (caught: unknown) => caught);
    expect(second).toBe(first);
    expect(readdirSync(join(temp.dir, 'logs'))).toEqual(['a-1.log']);
  });

  it('validates its options once', () => {
    expect(() => makePool(['a'], { maxModels: 0 })).toThrow('expected `maxModels` to be an integer >= 1, got 0');
    expect(() => makePool(['a'], { memoryBudgetBytes: -1 })).toThrow('expected `memoryBudgetBytes` to be a number of bytes > 0, got -1');
  });
});
