import { describe, expect, it } from 'vitest';
import { runScheduler } from '../helpers/run-scheduler.js';
import { BackendError } from '../../src/errors.js';
import type { PromptItem } from '../../src/prompts/prompt-item.js';
import type { ResultSink, WorkSource } from '../../src/scheduler/batch-scheduler.js';
import { RetryPolicy } from '../../src/scheduler/retry-policy.js';
import type { RouteLease, Router } from '../../src/scheduler/router.js';
import { StaticRouter } from '../../src/app/routing/static-router.js';
import type { ItemOutcome } from '../../src/store/item-outcome.js';
import { FakeBackend, answer, deferred } from './fake-backend.js';

function items(count: number): PromptItem[] {
  return Array.from({ length: count }, (_, i) => ({
    customId: `id-${i}`,
    index: i,
    source: `in.jsonl:${i + 1}`,
    endpoint: '/v1/chat/completions' as const,
    body: { messages: [{ role: 'user', content: `p${i}` }] },
  }));
}

function source(list: PromptItem[]): WorkSource {
  return {
    models: () => [{ model: null, pending: list.length }],
    async *items() {
      yield* list;
    },
  };
}

function sink(): ResultSink & { readonly outcomes: ItemOutcome[] } {
  const outcomes: ItemOutcome[] = [];
  return { outcomes, markRunning() {}, record: (outcome) => outcomes.push(outcome), error: undefined };
}

const noWait = new RetryPolicy({ retries: 5, random: () => 0 });

describe('BatchScheduler: queue wait and retry causes per prompt', () => {
  it('queue wait runs from ready (taken into the pool) to the first request: a server that takes its time counts', async () => {
    let now = 1000;
    const backend = new FakeBackend('http://a');
    const loaded = deferred<void>();
    const router: Router = {
      capacity: undefined,
      async acquire(model) {
        await loaded.promise;
        return { backend, model, release: () => undefined } satisfies RouteLease;
      },
      residentModels: () => [],
      loadStats: () => [],
      close: async () => undefined,
    };
    const results = sink();
    const running = runScheduler({ router, source: source(items(2)), sink: results, workers: 1, now: () => now });
    // The model loads for 250 ms of the scheduler's clock while both prompts are ready.
    while (backend.calls === 0) {
      await new Promise((r) => setImmediate(r));
      if (now === 1000) {
        now = 1250;
        loaded.resolve();
      }
    }
    await running;
    expect(results.outcomes.map((o) => o.queueWaitMs)).toEqual([250, 250]);
  });

  it('records why requests were sent again, by code, and the server each went to', async () => {
    const failures = ['SERVER_ERROR', 'RATE_LIMITED', 'SERVER_ERROR'] as const;
    const backend = new FakeBackend('http://a', (r, n) => {
      const text = String((r.body.messages as Array<{ content: string }>)[0]!.content);
      if (text === 'p0' && n <= failures.length) throw new BackendError(failures[n - 1]!, 'http://a', 'flaky', { retryable: true, statusCode: 500 });
      if (text === 'p1') throw new BackendError('CONNECTION_RESET', 'http://a', 'reset', { retryable: true });
      return answer(r);
    });
    const results = sink();
    const servers: string[] = [];
    await runScheduler({
      router: new StaticRouter([{ backend, info: { type: 'openai', models: [] } }]),
      source: source(items(3)),
      sink: results,
      workers: 1,
      retryPolicy: new RetryPolicy({ retries: 2, random: () => 0 }),
      listener: { onRequestStart: (_item, url) => servers.push(url), onRequestEnd: (_item, url) => servers.push(`end ${url}`) },
    });
    const byId = Object.fromEntries(results.outcomes.map((o) => [o.customId, o]));
    // p0: two failures retried, then its third request fails too and the budget (2 retries) is spent.
    expect(byId['id-0']).toMatchObject({ status: 'failed', attempts: 3, retryCauses: { SERVER_ERROR: 1, RATE_LIMITED: 1 }, error: { code: 'SERVER_ERROR' } });
    expect(byId['id-1']).toMatchObject({ status: 'failed', attempts: 3, retryCauses: { CONNECTION_RESET: 2 } });
    expect(byId['id-2']).toMatchObject({ status: 'done', attempts: 1 });
    expect(byId['id-2']!.retryCauses).toBeUndefined();
    expect(new Set(servers)).toEqual(new Set(['http://a', 'end http://a']));
    expect(servers).toHaveLength(2 * 7);
  });

  it('a prompt answered after retries keeps its causes; the first request that answers leaves none', async () => {
    const backend = new FakeBackend('http://a', (r, n) => {
      if (n === 1) throw new BackendError('REQUEST_TIMEOUT', 'http://a', 'slow', { retryable: true });
      return answer(r);
    });
    const results = sink();
    await runScheduler({ router: new StaticRouter([{ backend, info: { type: 'openai', models: [] } }]), source: source(items(2)), sink: results, workers: 1, retryPolicy: noWait });
    expect(results.outcomes.map((o) => [o.customId, o.attempts, o.retryCauses])).toEqual([
      ['id-0', 2, { REQUEST_TIMEOUT: 1 }],
      ['id-1', 1, undefined],
    ]);
  });
});
