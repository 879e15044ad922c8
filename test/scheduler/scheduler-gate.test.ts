import { describe, expect, it } from 'vitest';
import { runScheduler } from '../helpers/run-scheduler.js';
import { BackendError } from '../../src/errors.js';
import type { PromptItem } from '../../src/prompts/prompt-item.js';
import type { ItemOutcome } from '../../src/store/item-outcome.js';
import type { ResultSink, WorkSource } from '../../src/scheduler/batch-scheduler.js';
import { RequestGate } from '../../src/scheduler/request-gate.js';
import { RetryPolicy } from '../../src/scheduler/retry-policy.js';
import { StaticRouter } from '../../src/app/routing/static-router.js';
import { FakeBackend, answer, deferred } from './fake-backend.js';

function source(count: number): WorkSource {
  const list: PromptItem[] = Array.from({ length: count }, (_, i) => ({
    customId: `id-${i}`,
    index: i,
    source: `in.jsonl:${i + 1}`,
    endpoint: '/v1/chat/completions',
    body: { messages: [{ role: 'user', content: `p${i}` }] },
  }));
  return {
    models: () => [{ model: null, pending: count }],
    async *items() {
      yield* list;
    },
  };
}

function sink(): ResultSink & { outcomes: ItemOutcome[] } {
  const outcomes: ItemOutcome[] = [];
  return { outcomes, error: undefined, markRunning: () => undefined, record: (outcome) => outcomes.push(outcome) };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('BatchScheduler with a request gate', () => {
  it('sends no more at once than the gate allows, though its workers would', async () => {
    const gates: Array<() => void> = [];
    const backend = new FakeBackend('http://api', (r) => {
      const d = deferred<void>();
      gates.push(() => d.resolve());
      return d.promise.then(() => answer(r));
    });
    const router = new StaticRouter([{ backend, info: { type: 'openai', models: [] } }]);
    const gate = new RequestGate({ initialConcurrency: 3 });
    const running = runScheduler({ router, source: source(30), sink: sink(), workers: 16, gate });
    for (let released = 0; released < 30; ) {
      await tick();
      expect(backend.inFlight).toBeLessThanOrEqual(3);
      const next = gates.shift();
      if (next) {
        next();
        released += 1;
      }
    }
    expect((await running).done).toBe(30);
    expect(backend.maxInFlight).toBe(3);
  });

  it('a stop while prompts wait at the gate sends none of them: they stay pending and are not counted as sent', async () => {
    const first = deferred<void>();
    const backend = new FakeBackend('http://api', (r) => first.promise.then(() => answer(r)));
    const router = new StaticRouter([{ backend, info: { type: 'openai', models: [] } }]);
    const gate = new RequestGate({ initialConcurrency: 1 });
    const softStop = new AbortController();
    const results = sink();
    const running = runScheduler({ router, source: source(5), sink: results, workers: 5, gate, softStop: softStop.signal });
    for (let i = 0; i < 10; i++) await tick();
    expect(backend.calls).toBe(1);
    softStop.abort();
    first.resolve();
    const summary = await running;
    expect(backend.calls).toBe(1);
    expect(summary.dispatched).toBe(1);
    expect(summary.done).toBe(1);
    expect(results.outcomes.map((o) => o.customId)).toEqual(['id-0']);
  });

  it('a 429 cuts the concurrency, and the refused prompt is retried and answered', async () => {
    let refused = false;
    const backend = new FakeBackend('http://api', (r) => {
      if (!refused) {
        refused = true;
        throw new BackendError('RATE_LIMITED', 'http://api', '429', { retryable: true, statusCode: 429 });
      }
      return answer(r);
    });
    const router = new StaticRouter([{ backend, info: { type: 'openai', models: [] } }]);
    const gate = new RequestGate({ initialConcurrency: 4 });
    const summary = await runScheduler({ router, source: source(8), sink: sink(), workers: 4, gate, retryPolicy: new RetryPolicy({ random: () => 0 }) });
    expect(summary.done).toBe(8);
    expect(summary.retries).toBe(1);
    expect(gate.concurrencyOf('http://api')).toBeLessThan(4);
  });
});
