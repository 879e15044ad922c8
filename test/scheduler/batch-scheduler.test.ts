import { describe, expect, it } from 'vitest';
import { runScheduler } from '../helpers/run-scheduler.js';
import { AppError, BackendError, UsageError } from '../../src/errors.js';
import type { PromptItem } from '../../src/prompts/prompt-item.js';
import type { ItemOutcome } from '../../src/store/item-outcome.js';
import { BatchScheduler, orderModels, type ResultSink, type WorkSource } from '../../src/scheduler/batch-scheduler.js';
import { RetryPolicy } from '../../src/scheduler/retry-policy.js';
import { StaticRouter } from '../../src/app/routing/static-router.js';
import type { RouteLease, Router } from '../../src/scheduler/router.js';
import { FakeBackend, answer, deferred } from './fake-backend.js';

function items(count: number, model?: (i: number) => string | undefined): PromptItem[] {
  return Array.from({ length: count }, (_, i) => ({
    customId: `id-${i}`,
    index: i,
    source: `in.jsonl:${i + 1}`,
    endpoint: '/v1/chat/completions' as const,
    body: { ...(model?.(i) ? { model: model(i) } : {}), messages: [{ role: 'user', content: `p${i}` }] },
  }));
}

function memorySource(list: PromptItem[], pulled?: { count: number }): WorkSource {
  const models = new Map<string | null, number>();
  for (const item of list) {
    const m = typeof item.body.model === 'string' ? item.body.model : null;
    models.set(m, (models.get(m) ?? 0) + 1);
  }
  return {
    models: () => [...models].map(([model, pending]) => ({ model, pending })),
    async *items(model) {
      for (const item of list) {
        if ((typeof item.body.model === 'string' ? item.body.model : null) !== model) continue;
        if (pulled) pulled.count += 1;
        yield item;
      }
    },
  };
}

class MemorySink implements ResultSink {
  readonly outcomes: ItemOutcome[] = [];
  readonly running: string[] = [];
  error: AppError | undefined;
  markRunning(id: string): void {
    this.running.push(id);
  }
  record(outcome: ItemOutcome): void {
    this.outcomes.push(outcome);
  }
}

function routerFor(backend: FakeBackend): StaticRouter {
  return new StaticRouter([{ backend, info: { type: 'openai', models: [] } }]);
}

const notFoundAnswer = { statusCode: 404, requestId: 'r-404', body: { error: { type: 'not_found_error', message: 'model "x" not found' } } };

const noWait = new RetryPolicy({ retries: 5, random: () => 0 });

describe('BatchScheduler', () => {
  it('sends every prompt once, never more than `workers` at a time, and records each answer', async () => {
    const gates: Array<() => void> = [];
    const backend = new FakeBackend('http://a', (r) => {
      const d = deferred<void>();
      gates.push(() => d.resolve());
      return d.promise.then(() => answer(r));
    });
    const sink = new MemorySink();
    const running = runScheduler({ router: routerFor(backend), source: memorySource(items(50)), sink, workers: 4 });
    // Release requests one by one as they arrive; never more than 4 may be waiting.
    for (let released = 0; released < 50; ) {
      await new Promise((r) => setImmediate(r));
      expect(backend.inFlight).toBeLessThanOrEqual(4);
      const gate = gates.shift();
      if (gate) {
        gate();
        released += 1;
      }
    }
    const summary = await running;
    expect(summary.done).toBe(50);
    expect(backend.maxInFlight).toBe(4);
    expect(new Set(sink.outcomes.map((o) => o.customId)).size).toBe(50);
    expect(sink.outcomes.every((o) => (o.response?.body as any).choices[0].message.content === `answer:p${o.customId.slice(3)}`)).toBe(true);
  });

  it('reads prompts lazily: no more than a small multiple of workers ahead of the pool', async () => {
    const gate = deferred<void>();
    const backend = new FakeBackend('http://a', (r) => gate.promise.then(() => answer(r)));
    const pulled = { count: 0 };
    const running = runScheduler({ router: routerFor(backend), source: memorySource(items(1000), pulled), sink: new MemorySink(), workers: 3 });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(pulled.count).toBeLessThanOrEqual(3 * 2 + 1);
    gate.resolve();
    expect((await running).done).toBe(1000);
  });

  it('retries retryable failures and fails permanent ones at once with the server message', async () => {
    const backend = new FakeBackend('http://a', (r, n) => {
      const text = String((r.body.messages as any)[0].content);
      if (text === 'p1') throw new BackendError('MODEL_NOT_FOUND', 'http://a', 'model "x" not found', { statusCode: 404, response: notFoundAnswer });
      if (n <= 3) throw new BackendError('SERVER_ERROR', 'http://a', '500', { retryable: true, statusCode: 500 });
      return answer(r);
    });
    const sink = new MemorySink();
    const summary = await runScheduler({ router: routerFor(backend), source: memorySource(items(3)), sink, workers: 1, retryPolicy: noWait });
    expect(summary.done).toBe(2);
    expect(summary.failed).toBe(1);
    const failed = sink.outcomes.find((o) => o.status === 'failed')!;
    expect(failed.customId).toBe('id-1');
    expect(failed.attempts).toBe(1);
    expect(failed.error).toEqual({ code: 'MODEL_NOT_FOUND', message: 'model "x" not found' });
    // The server's own answer, unchanged: never a body made up from the error.
    expect(failed.response).toBe(notFoundAnswer);
    expect(summary.retries).toBe(3);
  });

  it('gives up after the retry budget and records the attempts', async () => {
    // A 500 reached the server, so every attempt is charged (a refused connection would not be).
    const backend = new FakeBackend('http://a', () => {
      throw new BackendError('SERVER_ERROR', 'http://a', '500', { retryable: true, statusCode: 500 });
    });
    const sink = new MemorySink();
    await runScheduler({ router: routerFor(backend), source: memorySource(items(1)), sink, workers: 1, retryPolicy: new RetryPolicy({ retries: 2, random: () => 0 }) });
    expect(sink.outcomes).toHaveLength(1);
    expect(sink.outcomes[0]!.attempts).toBe(3);
    expect(backend.calls).toBe(3);
  });

  it('runs each model group together, resident models first', async () => {
    const order: string[] = [];
    const router: Router = {
      capacity: undefined,
      acquire: async (model): Promise<RouteLease> => {
        order.push(model ?? '-');
        return { backend: new FakeBackend('http://m'), model, release() {} };
      },
      residentModels: () => ['c'],
      loadStats: () => [],
      close: async () => {},
    };
    const list = items(9, (i) => ['a', 'b', 'c'][i % 3]);
    await runScheduler({ router, source: memorySource(list), sink: new MemorySink(), workers: 1 });
    expect(order).toEqual(['c', 'c', 'c', 'a', 'a', 'a', 'b', 'b', 'b']);
    expect(orderModels([{ model: 'a', pending: 1 }, { model: null, pending: 2 }, { model: 'z', pending: 0 }], ['b'])).toEqual(['a', null]);
  });

  it('fails only the prompts of a model the router cannot serve', async () => {
    const router: Router = {
      capacity: undefined,
      acquire: async (model): Promise<RouteLease> => {
        if (model === 'bad') throw new AppError('MODEL_INVALID', 'model bad.gguf is invalid: missing llama.feed_forward_length');
        return { backend: new FakeBackend('http://m'), model, release() {} };
      },
      residentModels: () => [],
      loadStats: () => [],
      close: async () => {},
    };
    const sink = new MemorySink();
    const summary = await runScheduler({ router, source: memorySource(items(6, (i) => (i % 2 ? 'bad' : 'good'))), sink, workers: 2 });
    expect(summary.done).toBe(3);
    expect(summary.failed).toBe(3);
    expect(sink.outcomes.filter((o) => o.status === 'failed').every((o) => o.error?.code === 'MODEL_INVALID' && o.attempts === 0)).toBe(true);
  });

  it('stops dispatching on a soft stop and leaves aborted requests unrecorded after a hard stop', async () => {
    const backend = new FakeBackend('http://a', (r) =>
      new Promise((_, reject) => r.signal?.addEventListener('abort', () => reject(new BackendError('REQUEST_ABORTED', 'http://a', 'aborted')))),
    );
    const soft = new AbortController();
    const hard = new AbortController();
    const sink = new MemorySink();
    const running = runScheduler({ router: routerFor(backend), source: memorySource(items(100)), sink, workers: 5, softStop: soft.signal, hardStop: hard.signal });
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    soft.abort();
    hard.abort();
    const summary = await running;
    expect(summary.stoppedBy).toBe('interrupt');
    expect(backend.calls).toBe(5);
    expect(sink.outcomes).toHaveLength(0);
    // The five in flight when the stop came, and not one more.
    expect(summary.dispatched).toBe(5);
  });

  it('counts as sent only prompts whose request went out, not one a worker held while waiting for a server', async () => {
    // The second acquire waits (a model loading) until the run is stopped.
    const backend = new FakeBackend('http://a', (r) =>
      new Promise((_, reject) => r.signal?.addEventListener('abort', () => reject(new BackendError('REQUEST_ABORTED', 'http://a', 'aborted')))),
    );
    const loading = deferred<void>();
    let acquires = 0;
    const router: Router = {
      capacity: undefined,
      async acquire(model) {
        acquires += 1;
        if (acquires > 1) await loading.promise;
        return { backend, model, release: () => undefined } satisfies RouteLease;
      },
      residentModels: () => [],
      loadStats: () => [],
      close: async () => undefined,
    };
    const hard = new AbortController();
    const started: string[] = [];
    const ended: string[] = [];
    const sink = new MemorySink();
    const running = runScheduler({
      router,
      source: memorySource(items(10)),
      sink,
      workers: 2,
      hardStop: hard.signal,
      listener: { onRequestStart: (item) => started.push(item.customId), onRequestEnd: (item) => ended.push(item.customId) },
    });
    while (backend.calls < 1 || acquires < 2) await new Promise((r) => setImmediate(r));
    hard.abort();
    loading.resolve();
    const summary = await running;
    expect(backend.calls).toBe(1);
    expect(summary.dispatched).toBe(1);
    expect(started).toEqual(['id-0']);
    expect(ended).toEqual(['id-0']);
    // Both were taken by a worker (marked running); the run's end puts them back to pending.
    expect(sink.running).toEqual(['id-0', 'id-1']);
  });

  it('a soft stop ends retry waits at once: nothing waiting to be sent again holds the run for the grace, and no unsent retry is counted', async () => {
    let calls = 0;
    let firstAnswered!: () => void;
    const answered = new Promise<void>((resolve) => (firstAnswered = resolve));
    const backend = new FakeBackend('http://a', () => {
      calls += 1;
      if (calls === 2) firstAnswered();
      // A server that asks for an hour before the next try.
      return Promise.reject(new BackendError('RATE_LIMITED', 'http://a', 'slow down', { retryable: true, retryAfterMs: 3_600_000 }));
    });
    const soft = new AbortController();
    const sink = new MemorySink();
    const running = runScheduler({ router: routerFor(backend), source: memorySource(items(2)), sink, workers: 2, softStop: soft.signal, graceMs: 3_600_000, retryPolicy: new RetryPolicy({ retries: 5, maxDelayMs: 3_600_000 }) });
    await answered;
    soft.abort();
    const summary = await running;
    expect(summary).toMatchObject({ stoppedBy: 'interrupt', dispatched: 2, retries: 0, failed: 0 });
    expect(calls).toBe(2);
    expect(sink.outcomes).toHaveLength(0);
  });

  it('stops dispatching when the sink cannot write', async () => {
    const sink = new MemorySink();
    const backend = new FakeBackend('http://a', (r) => {
      sink.error = new AppError('STORE_WRITE_FAILED', 'disk full');
      return answer(r);
    });
    const summary = await runScheduler({ router: routerFor(backend), source: memorySource(items(100)), sink, workers: 1 });
    expect(summary.stoppedBy).toBe('store-error');
    // The one request whose result could not be written, and not one more.
    expect(backend.calls).toBe(1);
  });
});

describe('bad scheduler options', () => {
  it('fail with UsageError (exit 2), as every option check does', () => {
    expect(() => new BatchScheduler({ workers: 0 } as never)).toThrow(new UsageError('expected `workers` to be a whole number >= 1, got 0'));
    expect(() => new BatchScheduler({ workers: 0 } as never)).toThrow(UsageError);
    expect(() => new StaticRouter([])).toThrow(new UsageError('expected `endpoints` to be a non-empty array of endpoints, got an empty array'));
    expect(() => new StaticRouter([])).toThrow(UsageError);
  });
});
