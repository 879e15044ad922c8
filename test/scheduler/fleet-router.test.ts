import { afterEach, describe, expect, it } from 'vitest';
import { runScheduler } from '../helpers/run-scheduler.js';
import { createBackend } from '../../src/backends/open-backend.js';
import { BackendError } from '../../src/errors.js';
import { BatchScheduler } from '../../src/scheduler/batch-scheduler.js';
import { StaticRouter } from '../../src/app/routing/static-router.js';
import { RetryPolicy } from '../../src/scheduler/retry-policy.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';
import { chatItems, memorySource, MemorySink } from '../helpers/memory-work.js';
import { measureFailover } from '../helpers/measure-failover.js';
import { FakeBackend, answer } from './fake-backend.js';

const sims: SimServer[] = [];
const routers: StaticRouter[] = [];
afterEach(async () => {
  await Promise.all(routers.splice(0).map((r) => r.close()));
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function sim(options: Parameters<typeof startSimServer>[0]): Promise<SimServer> {
  const server = await startSimServer(options);
  sims.push(server);
  return server;
}

async function routerOver(servers: readonly SimServer[], options?: ConstructorParameters<typeof StaticRouter>[1]): Promise<StaticRouter> {
  const backends = servers.map((s) => createBackend('llama-server', { url: s.url }));
  const router = new StaticRouter(await Promise.all(backends.map(async (backend) => ({ backend, info: await backend.describe() }))), options);
  routers.push(router);
  return router;
}

describe('StaticRouter over a fleet', () => {
  it('while every server is healthy, each one\'s share of the requests follows its slots within 10%', async () => {
    const fleet = [await sim({ slots: 2, serviceMs: 20 }), await sim({ slots: 4, serviceMs: 20 }), await sim({ slots: 8, serviceMs: 20 })];
    const router = await routerOver(fleet);
    expect(router.capacity).toBe(14);
    const sink = new MemorySink();
    const summary = await runScheduler({ router, source: memorySource(chatItems(700)), sink, workers: 14 });
    expect(summary).toMatchObject({ done: 700, failed: 0, retries: 0 });
    const total = fleet.reduce((sum, s) => sum + s.stats().completed, 0);
    expect(total).toBe(700);
    for (const [i, server] of fleet.entries()) {
      const expected = [2, 4, 8][i]! / 14;
      const share = server.stats().completed / total;
      expect(Math.abs(share - expected) / expected, `server with ${[2, 4, 8][i]} slots: share ${share.toFixed(3)}, expected ${expected.toFixed(3)}`).toBeLessThanOrEqual(0.1);
    }
  });

  it('failover: the requests a crashed server held are answered by another well within 1 s (3 s allowed on a loaded machine), none lost or doubled', async () => {
    const result = await measureFailover({ prompts: 120, slots: 4, serviceMs: 50, crashAt: 20 });
    expect(result).toMatchObject({ done: 120, failed: 0, duplicates: 0 });
    expect(result.inFlightAtCrash).toBeGreaterThan(0);
    expect(result.failoverMs).toBeLessThan(3000);
    // Re-sent: what the dead server held, and at most a few sent before a refused connection opened its breaker.
    expect(result.retries).toBeGreaterThanOrEqual(result.inFlightAtCrash);
    expect(result.retries).toBeLessThanOrEqual(result.inFlightAtCrash + 8);
  });

  it('a retry goes to another server at once, and a server returning 500s is taken out, probed, and let back in', async () => {
    let failing = true;
    const sick = await sim({ slots: 4, serviceMs: 5, script: () => (failing ? '500' : undefined) });
    const healthy = await sim({ slots: 4, serviceMs: 5 });
    const router = await routerOver([sick, healthy], { health: { baseCooldownMs: 50, maxCooldownMs: 200 } });
    const sink = new MemorySink();
    // Backoff of an hour: only a retry that does not wait can finish this run.
    const retryPolicy = new RetryPolicy({ retries: 2, baseDelayMs: 3_600_000, maxDelayMs: 3_600_000 });
    const first = await runScheduler({ router, source: memorySource(chatItems(200)), sink, workers: 8, retryPolicy });
    expect(first).toMatchObject({ done: 200, failed: 0 });
    // The breaker opened after a few 500s: the sick server saw far fewer requests than its half.
    expect(sick.stats().faults['500']).toBeLessThan(40);
    failing = false;
    const again = await runScheduler({ router, source: memorySource(chatItems(200, 'q')), sink, workers: 8, retryPolicy });
    expect(again).toMatchObject({ done: 200, failed: 0 });
    expect(sick.stats().completed).toBeGreaterThan(20);
  });

  it('with every server down the prompts wait without spending retries, and go out when one comes back; --max-down ends the wait', async () => {
    let down = true;
    let notified = 0;
    const calls: string[] = [];
    const backend = new FakeBackend('http://solo', (request) => {
      calls.push('complete');
      if (down) throw new BackendError('SERVER_UNREACHABLE', 'http://solo', 'refused', { retryable: true });
      return answer(request);
    });
    backend.health = async () => (down ? 'down' : 'ok');
    const router = new StaticRouter([{ backend, info: { type: 'openai', models: [] } }], {
      health: { baseCooldownMs: 10, maxCooldownMs: 20 },
      listener: { onAllDown: () => (notified += 1), onRecovered: () => (notified += 10) },
    });
    routers.push(router);
    const sink = new MemorySink();
    const run = runScheduler({ router, source: memorySource(chatItems(20)), sink, workers: 4, retryPolicy: new RetryPolicy({ retries: 1, random: () => 0 }) });
    await expect.poll(() => notified, { timeout: 5000 }).toBe(1);
    // Paused: the probes ask, nothing is sent.
    const sent = calls.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(calls.length).toBe(sent);
    down = false;
    const summary = await run;
    expect(summary).toMatchObject({ done: 20, failed: 0 });
    expect(notified).toBe(11);

    down = true;
    const short = new StaticRouter([{ backend, info: { type: 'openai', models: [] } }], { maxDownMs: 300, health: { baseCooldownMs: 10, maxCooldownMs: 20 } });
    routers.push(short);
    const ended = await runScheduler({ router: short, source: memorySource(chatItems(20, 'z')), sink: new MemorySink(), workers: 4 });
    expect(ended.stoppedBy).toBe('servers-down');
    expect(ended.stopError?.code).toBe('ALL_SERVERS_DOWN');
    expect(ended.stopError?.message).toMatch(/http:\/\/solo.*--max-down/);
    expect(ended.failed).toBe(0);
  });

  it('tryAcquire leases a server that can take a request now, and gives nothing when none can (acquire then waits)', async () => {
    const backend = new FakeBackend('http://solo');
    const router = new StaticRouter([{ backend, info: { type: 'openai', models: [] } }], { health: { failureThreshold: 1, baseCooldownMs: 60_000, maxCooldownMs: 60_000 } });
    routers.push(router);
    const lease = router.tryAcquire(undefined);
    expect(lease?.backend.url).toBe('http://solo');
    // The server fails: its breaker opens, and no lease is given at once.
    lease!.release({ error: new BackendError('SERVER_UNREACHABLE', 'http://solo', 'refused', { retryable: true }) });
    expect(router.tryAcquire(undefined)).toBeUndefined();
    let waited = false;
    const waiting = router.acquire(undefined).then(() => (waited = true), () => (waited = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(waited).toBe(false);
    await router.close();
    await waiting;
    expect(router.tryAcquire(undefined)).toBeUndefined();
  });

  it('a refused connection costs no retry: with --retries 0 every prompt is still answered by the server that is up', async () => {
    const refusing = new FakeBackend('http://refusing', () => {
      throw new BackendError('SERVER_UNREACHABLE', 'http://refusing', 'refused', { retryable: true });
    });
    refusing.health = async () => 'down';
    const up = new FakeBackend('http://up');
    const router = new StaticRouter([
      { backend: refusing, info: { type: 'openai', models: [] } },
      { backend: up, info: { type: 'openai', models: [] } },
    ]);
    routers.push(router);
    const summary = await runScheduler({ router, source: memorySource(chatItems(30)), sink: new MemorySink(), workers: 4, retryPolicy: new RetryPolicy({ retries: 0 }) });
    expect(summary).toMatchObject({ done: 30, failed: 0 });
    // One request found it down; none went there after.
    expect(refusing.calls).toBe(1);
  });

  it('Ctrl-C while every server is down ends the run at once, its prompts pending', async () => {
    const backend = new FakeBackend('http://solo', () => {
      throw new BackendError('SERVER_UNREACHABLE', 'http://solo', 'refused', { retryable: true });
    });
    backend.health = async () => 'down';
    let paused = false;
    const router = new StaticRouter([{ backend, info: { type: 'openai', models: [] } }], { listener: { onAllDown: () => (paused = true) } });
    routers.push(router);
    const soft = new AbortController();
    const sink = new MemorySink();
    const run = runScheduler({ router, source: memorySource(chatItems(10)), sink, workers: 2, softStop: soft.signal, graceMs: 3_600_000 });
    await expect.poll(() => paused, { timeout: 5000 }).toBe(true);
    soft.abort();
    const summary = await run;
    expect(summary).toMatchObject({ stoppedBy: 'interrupt', done: 0, failed: 0 });
    expect(sink.outcomes).toEqual([]);
  });

  it('a server that was down at start joins when it answers', async () => {
    const up = await sim({ slots: 2, serviceMs: 5 });
    let late: SimServer | undefined;
    let joined = '';
    const backend = createBackend('llama-server', { url: up.url });
    const router = new StaticRouter(
      [
        { backend, info: await backend.describe() },
        {
          url: 'http://127.0.0.1:1',
          slots: 2,
          open: async () => {
            if (late === undefined) throw new BackendError('SERVER_UNREACHABLE', 'http://127.0.0.1:1', 'refused', { retryable: true });
            const lateBackend = createBackend('llama-server', { url: late.url });
            return { backend: lateBackend, info: await lateBackend.describe() };
          },
        },
      ],
      { health: { baseCooldownMs: 10, maxCooldownMs: 20 }, listener: { onJoined: (url) => (joined = url) } },
    );
    routers.push(router);
    expect(router.capacity).toBe(4);
    late = await sim({ slots: 2, serviceMs: 5 });
    await expect.poll(() => joined, { timeout: 5000 }).toBe('http://127.0.0.1:1');
    const summary = await runScheduler({ router, source: memorySource(chatItems(100)), sink: new MemorySink(), workers: 4 });
    expect(summary.done).toBe(100);
    expect(late.stats().completed).toBeGreaterThan(10);
  });
});

describe('StaticRouter: what brings a server back', () => {
  it('not the answer to a request sent before the server was found down (a stopping server answers its last requests); a probe does', async () => {
    let now = 1_000;
    const events: string[] = [];
    const backend = new FakeBackend('http://127.0.0.1:7');
    const router = new StaticRouter([{ backend, info: await backend.describe() }], {
      now: () => now,
      health: { baseCooldownMs: 60_000, maxCooldownMs: 60_000 },
      listener: { onAllDown: () => events.push('down'), onRecovered: () => events.push('recovered') },
    });
    routers.push(router);
    const before = await router.acquire(undefined);
    now = 2_000;
    const failing = await router.acquire(undefined);
    failing.release({ error: new BackendError('SERVER_UNREACHABLE', backend.url, 'refused', { retryable: true }) });
    expect(events).toEqual(['down']);
    // Sent at 1,000, answered after the server was found down at 2,000: older news.
    before.release({});
    expect(events).toEqual(['down']);
    let waiting = true;
    void router.acquire(undefined).then(
      (lease) => {
        waiting = false;
        lease.release();
      },
      () => undefined,
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(waiting).toBe(true);
    await router.close();
  });
});
