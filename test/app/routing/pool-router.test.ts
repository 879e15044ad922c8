import type { GgufInfo } from '../../../src/models/gguf-reader.js';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PoolRouter } from '../../../src/app/routing/pool-router.js';
import { BackendError } from '../../../src/errors.js';
import { ModelCatalog } from '../../../src/servers/model-catalog.js';
import { ModelPool } from '../../../src/servers/model-pool.js';
import { FakeServerFactory } from '../../servers/fake-managed-server.js';
import { makeTempDir, recordingBackend, writeFakeModel } from '../../servers/server-fixtures.js';

let temp: { dir: string; cleanup: () => void };
let router: PoolRouter | undefined;
beforeEach(() => {
  temp = makeTempDir();
});
afterEach(async () => {
  await router?.close();
  router = undefined;
  temp.cleanup();
});

function open(factory: FakeServerFactory, notices: string[] = []): PoolRouter {
  writeFakeModel(temp.dir, 'm1.gguf');
  const pool = new ModelPool({
    catalog: new ModelCatalog({ models: ['m1.gguf'], cwd: temp.dir }),
    launch: { kind: 'llama-server', binary: '/never/run' },
    createBackend: (_type, { url }) => recordingBackend(url),
    createServer: factory.create,
    logDir: join(temp.dir, 'logs'),
    slots: 2,
    contextSize: 512,
    restartBackoffMs: 0,
    inspectModel: async () => ({ contextLength: 4096 }) as GgufInfo,
    notice: (line) => notices.push(line),
  });
  router = new PoolRouter(pool);
  return router;
}

const stalled = (url: string): BackendError => new BackendError('STALLED', url, `${url} sent no byte for 5 s`, { retryable: true });
const timedOut = (url: string): BackendError => new BackendError('REQUEST_TIMEOUT', url, `${url}: no answer within 600 s`, { retryable: true });
const error500 = (url: string): BackendError => new BackendError('SERVER_ERROR', url, `${url} answered 500`, { retryable: true, statusCode: 500 });

describe('PoolRouter health', () => {
  it.each([
    ['stall', stalled],
    ['time out', timedOut],
  ])('a managed server whose requests %s 3 times in a row is killed and restarted; later failures on it cost no retry', async (_, failure) => {
    const factory = new FakeServerFactory(true);
    const notices: string[] = [];
    const r = open(factory, notices);
    const leases = await Promise.all([1, 2, 3, 4].map(() => r.acquire('m1')));
    const url = leases[0]!.backend.url;
    expect(leases.every((l) => l.backend.url === url)).toBe(true);
    expect(leases[0]!.release({ error: failure(url) })).toEqual({ excused: false });
    expect(leases[1]!.release({ error: failure(url) })).toEqual({ excused: false });
    expect(factory.servers[0]!.stops).toBe(0);
    expect(leases[2]!.release({ error: failure(url) })).toEqual({ excused: false });
    // Found hung: killed; the request still on it fails by no fault of its prompt.
    expect(factory.servers[0]!.stops).toBe(1);
    expect(leases[3]!.release({ error: new BackendError('CONNECTION_RESET', url, 'reset', { retryable: true }) })).toEqual({ excused: true });
    expect(notices.join('\n')).toMatch(/the server of model m1 hangs \(3 request\(s\) of model m1 in a row got no (byte|answer) within --(stall-)?timeout\): killing it/);
    const next = await r.acquire('m1');
    expect(next.backend.url).not.toBe(url);
    expect(factory.servers).toHaveLength(2);
    next.release({});
    expect(r.loadStats()).toEqual([expect.objectContaining({ model: 'm1', loads: 2 })]);
  });

  it('an answer between stalls, or 5xx answers, never restart a server: they say its process runs', async () => {
    const factory = new FakeServerFactory(true);
    const r = open(factory);
    for (let round = 0; round < 3; round++) {
      for (const outcome of [{ error: stalled('x') }, { error: stalled('x') }, {}, { error: error500('x') }, { error: error500('x') }, { error: error500('x') }]) {
        const lease = await r.acquire('m1');
        lease.release(outcome);
      }
    }
    expect(factory.servers).toHaveLength(1);
    expect(factory.servers[0]!.stops).toBe(0);
  });
});
