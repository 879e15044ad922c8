import type { GgufInfo } from '../../src/models/gguf-reader.js';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { AppError, ServerError } from '../../src/errors.js';
import { ModelCatalog } from '../../src/servers/model-catalog.js';
import type { ModelMemoryEstimate } from '../../src/servers/model-memory.js';
import { ModelPool, type ModelPoolOptions } from '../../src/servers/model-pool.js';
import { FakeServerFactory } from './fake-managed-server.js';
import { makeTempDir, recordingBackend, writeFakeModel } from './server-fixtures.js';

// Captured before the fake timers replace it: one macrotask turn runs every pending promise
// callback, since the fakes settle only through promises.
const realSetImmediate = setImmediate;
const settle = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));

const GiB = 2 ** 30;
let temp: { dir: string; cleanup: () => void };
let pools: ModelPool[];
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  temp = makeTempDir();
  pools = [];
});
afterEach(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
  vi.useRealTimers();
  temp.cleanup();
});

function makePool(models: readonly string[], factory: FakeServerFactory, options: Partial<ModelPoolOptions> = {}): ModelPool {
  for (const model of models) writeFakeModel(temp.dir, `${model}.gguf`);
  const pool = new ModelPool({
    catalog: new ModelCatalog({ models: models.map((model) => `${model}.gguf`), cwd: temp.dir }),
    launch: { kind: 'llama-server', binary: '/never/run' },
    createBackend: (_type, { url }) => recordingBackend(url),
    createServer: factory.create,
    logDir: join(temp.dir, 'logs'),
    slots: 2,
    contextSize: 512,
    restartBackoffMs: 1000,
    // The fake model files are no GGUF: every model reads as trained for 4096 tokens.
    inspectModel: async () => ({ contextLength: 4096 }) as GgufInfo,
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

function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (caught: unknown) => caught);
}

/** Tracks whether a promise has settled, without awaiting it. */
function track<T>(promise: Promise<T>): { readonly settled: boolean; readonly promise: Promise<T> } {
  const state = { settled: false, promise };
  void promise.then(() => (state.settled = true), () => (state.settled = true));
  return state;
}

describe('ModelPool', () => {
  it('with maxModels 1, A B C A starts four servers and stops each evicted one', async () => {
    const factory = new FakeServerFactory(true);
    const pool = makePool(['a', 'b', 'c'], factory, { maxModels: 1 });
    for (const model of ['a', 'b', 'c', 'a']) await use(pool, model);
    expect(factory.models()).toEqual(['a', 'b', 'c', 'a']);
    expect(factory.servers.map((server) => server.stops)).toEqual([1, 1, 1, 0]);
    expect(pool.residentModels()).toEqual(['a']);
    expect(pool.stats()).toEqual([
      { model: 'a', loads: 2, loadMsTotal: 20, restarts: 0, requestsServed: 2 },
      { model: 'b', loads: 1, loadMsTotal: 10, restarts: 0, requestsServed: 1 },
      { model: 'c', loads: 1, loadMsTotal: 10, restarts: 0, requestsServed: 1 },
    ]);
    await pool.close();
    expect(factory.servers[3]!.stops).toBe(1);
  });

  it('hands each server its slots, context size and the pool options, and the backend its URL and slots', async () => {
    const factory = new FakeServerFactory(true);
    const connections: number[] = [];
    const pool = makePool(['a'], factory, {
      slots: 3,
      contextSize: 1024,
      startupTimeoutMs: 1234,
      stopGraceMs: 50,
      createBackend: (_type, options) => {
        connections.push(options.connections);
        return recordingBackend(options.url);
      },
    });
    const backend = (await use(pool, 'a')) as Backend & { url: string };
    expect(factory.servers[0]!.options).toMatchObject({
      launch: { kind: 'llama-server', binary: '/never/run' },
      modelPath: join(temp.dir, 'a.gguf'),
      slots: 3,
      contextSize: 1024,
      logDir: join(temp.dir, 'logs'),
      startupTimeoutMs: 1234,
      stopGraceMs: 50,
    });
    expect(backend.url).toBe('http://fake/a-1');
    expect(connections).toEqual([3]);
    expect(pool.capacity).toBe(3);
  });

  it("gives each backend its own server's API key, and each server the command's environment", async () => {
    const factory = new FakeServerFactory(true);
    const keys: string[] = [];
    const pool = makePool(['a', 'b'], factory, {
      env: { PATH: '/opt/bin', HOME: '/home/u' },
      createBackend: (_type, options) => {
        keys.push(options.apiKey);
        return recordingBackend(options.url);
      },
    });
    await use(pool, 'a');
    await use(pool, 'b');
    expect(keys).toEqual(['key-1', 'key-2']);
    expect(factory.servers.map((server) => server.options.env)).toEqual([
      { PATH: '/opt/bin', HOME: '/home/u' },
      { PATH: '/opt/bin', HOME: '/home/u' },
    ]);
  });

  it("caps each model's context per slot at its trained context, saying so once", async () => {
    const factory = new FakeServerFactory(true);
    const notices: string[] = [];
    const trained: Record<string, number> = { short: 512, long: 32_768 };
    const pool = makePool(['short', 'long'], factory, {
      maxModels: 1,
      contextSize: 2048,
      notice: (line) => notices.push(line),
      inspectModel: async (path) => ({ contextLength: trained[basename(path, '.gguf')] }) as GgufInfo,
    });
    for (const model of ['short', 'long', 'short']) await use(pool, model);
    expect(factory.servers.map((server) => [server.model, server.options.contextSize])).toEqual([
      ['short', 512],
      ['long', 2048],
      ['short', 512],
    ]);
    expect(notices).toEqual(['model short: 512 tokens of context per slot, its trained context (asked for 2048; a longer context only degrades it)']);
  });

  it('checks every model before any server starts: a bad one fails only its own acquires', async () => {
    const factory = new FakeServerFactory(true);
    const pool = makePool(['good', 'bad'], factory, {
      inspectModel: async (path) => {
        if (path.endsWith('bad.gguf')) throw new ServerError('MODEL_INVALID', `model ${path} is invalid: missing llama.feed_forward_length`);
        return { contextLength: 4096 } as GgufInfo;
      },
    });
    await expect(pool.acquire('bad')).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    await expect(pool.acquire('bad')).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    await use(pool, 'good');
    expect(factory.models()).toEqual(['good']);
  });

  it('with maxModels 2, keeps the two most recently used and reuses a resident server', async () => {
    const factory = new FakeServerFactory(true);
    const pool = makePool(['a', 'b', 'c'], factory, { maxModels: 2 });
    const first = await use(pool, 'a');
    await use(pool, 'b');
    await use(pool, 'a');
    await use(pool, 'c');
    expect(pool.residentModels()).toEqual(['c', 'a']);
    expect(factory.models()).toEqual(['a', 'b', 'c']);
    expect(factory.servers.map((server) => server.stops)).toEqual([0, 1, 0]);
    expect(await use(pool, 'a')).toBe(first);
    expect(factory.models()).toEqual(['a', 'b', 'c']);
  });

  it('evicts the least recently used idle server, skipping a busy one', async () => {
    const factory = new FakeServerFactory(true);
    const pool = makePool(['a', 'b', 'c'], factory, { maxModels: 2 });
    const leaseA = await pool.acquire('a');
    await use(pool, 'b');
    // a is older but busy: b goes.
    await use(pool, 'c');
    expect(factory.servers.map((server) => server.stops)).toEqual([0, 1, 0]);
    expect(pool.residentModels()).toEqual(['c', 'a']);
    leaseA.release();
  });

  it('starts a model once for concurrent acquires, and all of them get its server', async () => {
    const factory = new FakeServerFactory(false);
    const pool = makePool(['a'], factory);
    const created = factory.next();
    const leases = track(Promise.all([pool.acquire('a'), pool.acquire(undefined), pool.acquire('a.gguf')]));
    const server = await created;
    await settle();
    expect(leases.settled).toBe(false);
    server.ready();
    const got = await leases.promise;
    expect(factory.models()).toEqual(['a']);
    expect(new Set(got.map((lease) => lease.backend)).size).toBe(1);
    expect(got.map((lease) => lease.model)).toEqual(['a', 'a', 'a']);
    expect(pool.stats()[0]).toMatchObject({ loads: 1, requestsServed: 3 });
    for (const lease of got) lease.release();
  });

  it('waits for a busy server to become idle before evicting it', async () => {
    const factory = new FakeServerFactory(true);
    const pool = makePool(['a', 'b'], factory, { maxModels: 1 });
    const leaseA = await pool.acquire('a');
    const pendingB = track(pool.acquire('b'));
    await settle();
    expect(pendingB.settled).toBe(false);
    expect(factory.models()).toEqual(['a']);
    expect(factory.servers[0]!.stops).toBe(0);
    leaseA.release();
    leaseA.release(); // a second release must not count twice
    const leaseB = await pendingB.promise;
    expect(factory.models()).toEqual(['a', 'b']);
    expect(factory.servers[0]!.stops).toBe(1);
    expect(pool.residentModels()).toEqual(['b']);
    leaseB.release();
  });

  it('never evicts a model a run holds (the daemon): another model waits until the hold ends', async () => {
    const factory = new FakeServerFactory(true);
    const held = new Set<string>(['a']);
    const pool = makePool(['a', 'b'], factory, { maxModels: 1, isHeld: (model) => held.has(model) });
    await use(pool, 'a');
    const pendingB = track(pool.acquire('b'));
    await settle();
    // a is idle but held: b waits, a keeps running.
    expect(pendingB.settled).toBe(false);
    expect(factory.servers[0]!.stops).toBe(0);
    held.delete('a');
    pool.recheck();
    (await pendingB.promise).release();
    expect(factory.models()).toEqual(['a', 'b']);
    expect(factory.servers[0]!.stops).toBe(1);
  });

  it('load() starts a model without taking a slot, once however many ask, and says whether this call started it', async () => {
    const factory = new FakeServerFactory(true);
    const pool = makePool(['a'], factory);
    expect(pool.modelState('a')).toEqual({ model: 'a', state: 'idle' });
    const [first, second] = await Promise.all([pool.load('a'), pool.load('a')]);
    expect(first).toEqual({ model: 'a', started: true, loadMs: 10 });
    expect(second.started).toBe(false);
    expect(factory.models()).toEqual(['a']);
    expect(pool.modelState('a')).toEqual({ model: 'a', state: 'ready' });
    expect(await pool.load('a')).toEqual({ model: 'a', started: false, loadMs: 0 });
    expect(pool.residents()).toMatchObject([{ model: 'a', state: 'ready', inUse: 0 }]);
  });

  it('unloadIdle() stops the servers unused for the idle time, never a busy or held one', async () => {
    let now = 1_000_000;
    const factory = new FakeServerFactory(true);
    const held = new Set<string>();
    const pool = makePool(['a', 'b', 'c'], factory, { maxModels: 3, now: () => now, isHeld: (model) => held.has(model) });
    await use(pool, 'a');
    const busy = await pool.acquire('b');
    await use(pool, 'c');
    held.add('c');
    now += 60_000;
    expect(await pool.unloadIdle(30_000)).toEqual(['a']);
    expect(pool.residents().map((r) => r.model).sort()).toEqual(['b', 'c']);
    busy.release();
    held.clear();
    expect(await pool.unloadIdle(30_000)).toEqual(['c']);
    now += 60_000;
    expect(await pool.unloadIdle(30_000)).toEqual(['b']);
    expect(pool.residents()).toEqual([]);
  });

  it('counts a server that is still starting against maxModels', async () => {
    const factory = new FakeServerFactory(false);
    const pool = makePool(['a', 'b'], factory, { maxModels: 1 });
    const createdA = factory.next();
    const pendingA = track(pool.acquire('a'));
    const serverA = await createdA;
    const pendingB = track(pool.acquire('b'));
    await settle();
    // b must not start beside a loading a, nor evict it before its lease.
    expect(factory.models()).toEqual(['a']);
    serverA.ready();
    const createdB = factory.next();
    (await pendingA.promise).release();
    (await createdB).ready();
    (await pendingB.promise).release();
    expect(factory.models()).toEqual(['a', 'b']);
    expect(serverA.stops).toBe(1);
  });

  it('evicts idle models to fit the memory budget and rejects a model too large alone', async () => {
    const sizes: Record<string, ModelMemoryEstimate> = {
      a: { weightsBytes: 5 * GiB, kvCacheBytes: 1 * GiB, totalBytes: 6 * GiB },
      b: { weightsBytes: 5 * GiB, kvCacheBytes: 1 * GiB, totalBytes: 6 * GiB },
      c: { weightsBytes: 2 * GiB, kvCacheBytes: 1 * GiB, totalBytes: 3 * GiB },
      d: { weightsBytes: 20 * GiB, kvCacheBytes: 4 * GiB, totalBytes: 24 * GiB },
    };
    const shapes: unknown[] = [];
    const factory = new FakeServerFactory(true);
    const pool = makePool(['a', 'b', 'c', 'd'], factory, {
      maxModels: 3,
      memoryBudgetBytes: 10 * GiB,
      estimateModelMemory: (path, shape) => {
        shapes.push(shape);
        return Promise.resolve(sizes[path.replace(/^.*[\\/]/, '').replace('.gguf', '')]!);
      },
    });
    await use(pool, 'a');
    await use(pool, 'b');
    expect(pool.residentModels()).toEqual(['b']);
    await use(pool, 'c');
    expect(pool.residentModels()).toEqual(['c', 'b']);
    const error = await rejection(pool.acquire('d'));
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).code).toBe('MODEL_TOO_LARGE');
    expect((error as Error).message).toBe(
      'model d.gguf needs ~24.00 GiB (weights 20.00 GiB + KV cache 4.00 GiB for 2 slots × 512 ctx) but the budget is 10.00 GiB; use fewer slots (--slots), a smaller --ctx, a larger --memory-budget if the machine has the memory, or a smaller quantisation',
    );
    expect(await rejection(pool.acquire('d'))).toBe(error);
    expect(factory.models()).toEqual(['a', 'b', 'c']);
    expect(pool.residentModels()).toEqual(['c', 'b']);
    expect(shapes).toEqual(Array.from({ length: 4 }, () => ({ slots: 2, contextSize: 512 })));
  });

  it('restarts a crashed server after the backoff, doubling it, then fails with SERVER_CRASHED past the budget', async () => {
    const factory = new FakeServerFactory(true);
    const pool = makePool(['a'], factory, { maxRestarts: 2, restartBackoffMs: 1000 });
    const backendBefore = (await use(pool, 'a')) as Backend & { closed: boolean };
    factory.servers[0]!.crash();
    expect(pool.residentModels()).toEqual([]);
    expect(backendBefore.closed).toBe(true);

    const firstRestart = track(use(pool, 'a'));
    await vi.advanceTimersByTimeAsync(999);
    expect(factory.servers).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await firstRestart.promise;
    expect(factory.models()).toEqual(['a', 'a']);

    factory.servers[1]!.crash();
    const secondRestart = track(use(pool, 'a'));
    await vi.advanceTimersByTimeAsync(1999);
    expect(factory.servers).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await secondRestart.promise;
    expect(pool.stats()).toEqual([{ model: 'a', loads: 3, loadMsTotal: 30, restarts: 2, requestsServed: 3 }]);

    factory.servers[2]!.crash('SIGSEGV');
    const error = await rejection(pool.acquire('a'));
    expect((error as ServerError).code).toBe('SERVER_CRASHED');
    expect((error as Error).message).toBe(
      'the server of model a crashed 3 times (the last was killed by SIGSEGV); it was restarted 2 times, the limit; see /logs/a-3.log',
    );
    expect(await rejection(pool.acquire('a'))).toBe(error);
    expect(factory.servers).toHaveLength(3);
  });

  it('ignores the exit of a server it stopped itself', async () => {
    const factory = new FakeServerFactory(true);
    const pool = makePool(['a', 'b'], factory, { maxModels: 1, maxRestarts: 0 });
    await use(pool, 'a');
    await use(pool, 'b');
    // A late exit report from evicted a is no crash: a starts again without backoff.
    factory.servers[0]!.crash();
    await use(pool, 'a');
    expect(factory.models()).toEqual(['a', 'b', 'a']);
    expect(pool.stats()[0]).toMatchObject({ model: 'a', loads: 2, restarts: 0 });
  });

  it('fails only the unknown or broken model, stops what the failed start left, and does not retry it', async () => {
    const factory = new FakeServerFactory(false);
    const pool = makePool(['a', 'b'], factory);
    const unknown = await rejection(pool.acquire('x'));
    expect((unknown as ServerError).code).toBe('MODEL_NOT_FOUND');

    const created = factory.next();
    const first = rejection(pool.acquire('a'));
    const startError = new ServerError('SERVER_NOT_READY', 'llama-server for model a.gguf exited with code 1 before it was ready; see /logs/a-1.log');
    (await created).fail(startError);
    expect(await first).toBe(startError);
    expect(await rejection(pool.acquire('a'))).toBe(startError);
    expect(factory.models()).toEqual(['a']);

    const createdB = factory.next();
    const b = pool.acquire('b');
    (await createdB).ready();
    expect((await b).model).toBe('b');
  });

  it('turns a start failure that is not an AppError into SERVER_NOT_READY for later acquires', async () => {
    const factory = new FakeServerFactory(false);
    const pool = makePool(['a'], factory);
    const created = factory.next();
    const first = rejection(pool.acquire('a'));
    (await created).fail(new Error('spawn EACCES'));
    expect((await first as Error).message).toBe('spawn EACCES');
    const later = await rejection(pool.acquire('a'));
    expect(later).toBeInstanceOf(ServerError);
    expect((later as ServerError).code).toBe('SERVER_NOT_READY');
    expect((later as Error).message).toBe('spawn EACCES');
  });

  it('close() stops every server and fails waiting acquires with INTERRUPTED', async () => {
    const factory = new FakeServerFactory(true);
    const pool = makePool(['a', 'b'], factory, { maxModels: 1 });
    const leaseA = await pool.acquire('a');
    const waitingB = rejection(pool.acquire('b'));
    await pool.close();
    const error = await waitingB;
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('INTERRUPTED');
    expect((error as AppError).exitCode).toBe(130);
    expect(factory.servers.map((server) => server.stops)).toEqual([1]);
    expect(((await rejection(pool.acquire('a'))) as AppError).code).toBe('INTERRUPTED');
    leaseA.release();
  });

  it('close() stops a server still loading at once instead of waiting out its load', async () => {
    const factory = new FakeServerFactory(false);
    const pool = makePool(['a'], factory);
    const created = factory.next();
    const acquired = rejection(pool.acquire('a'));
    const server = await created;
    // The server never becomes ready by itself (a load of minutes): close() must not wait for it.
    await pool.close();
    expect(server.stops).toBe(1);
    expect(server.state).toBe('exited');
    expect(((await acquired) as AppError).code).toBe('INTERRUPTED');
  });

  it('close() during a start that succeeds anyway stops that server and hands it to no one', async () => {
    const factory = new FakeServerFactory(false);
    const pool = makePool(['a'], factory);
    const created = factory.next();
    const acquired = rejection(pool.acquire('a'));
    const server = await created;
    // The start finishes in the same turn as the stop arrives.
    server.ready();
    await pool.close();
    expect(server.stops).toBe(1);
    expect(((await acquired) as AppError).code).toBe('INTERRUPTED');
  });

  it('validates its options once, and requires slots and contextSize', () => {
    const factory = new FakeServerFactory(true);
    expect(() => makePool(['a'], factory, { maxModels: 0 })).toThrow('expected `maxModels` to be a whole number >= 1, got 0');
    expect(() => makePool(['a'], factory, { memoryBudgetBytes: -1 })).toThrow('expected `memoryBudgetBytes` to be a number of bytes > 0, got -1');
    expect(() => makePool(['a'], factory, { slots: undefined })).toThrow('expected `slots` to be a whole number >= 1, got nothing');
    expect(() => makePool(['a'], factory, { contextSize: undefined })).toThrow('expected `contextSize` to be a whole number >= 1, got nothing');
    expect(() => makePool(['a'], factory, { createServer: 'ManagedServer' as never })).toThrow('expected `createServer` to be a function, got "ManagedServer"');
  });
});
