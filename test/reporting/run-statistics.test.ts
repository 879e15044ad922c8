import { describe, expect, it } from 'vitest';
import { AppError, BackendError } from '../../src/errors.js';
import type { PromptItem } from '../../src/prompts/prompt-item.js';
import { RunStatistics } from '../../src/reporting/run-statistics.js';
import { BatchScheduler, type ResultSink, type WorkSource } from '../../src/scheduler/batch-scheduler.js';
import { RetryPolicy } from '../../src/scheduler/retry-policy.js';
import { StaticRouter } from '../../src/app/routing/static-router.js';
import type { ItemOutcome } from '../../src/store/item-outcome.js';
import { FakeBackend, answer } from '../scheduler/fake-backend.js';

const item: PromptItem = { customId: 'a', index: 0, source: 'in.jsonl:1', endpoint: '/v1/chat/completions', body: { messages: [] } };

function done(latencyMs: number, extra: Partial<ItemOutcome> = {}): ItemOutcome {
  return { customId: 'a', status: 'done', attempts: 1, promptTokens: 3, completionTokens: 5, latencyMs, finishedAt: 0, ...extra };
}

describe('RunStatistics', () => {
  it('counts prompts sent, answered and failed, requests sent again, tokens and warm starts from the events', () => {
    const statistics = new RunStatistics();
    statistics.onDispatch(item);
    statistics.onDispatch(item);
    statistics.onRequestStart(item, 'http://s', 1);
    statistics.onRequestStart(item, 'http://s', 2);
    statistics.onRequestStart(item, 'http://s', 3);
    statistics.onOutcome(done(100, { ttftMs: 20, modelLoadMs: 2 }));
    statistics.onOutcome(done(300, { modelLoadMs: 4000 }));
    statistics.onOutcome({ customId: 'b', status: 'failed', attempts: 2, error: { code: 'SERVER_ERROR', message: '500' }, finishedAt: 0 });
    const summary = statistics.summary();
    expect(summary).toMatchObject({ dispatched: 2, done: 2, failed: 1, retries: 2, promptTokens: 6, completionTokens: 10, warmStarts: 1, loadReported: 2 });
    // Percentiles are bucket edges, exact to within 2%.
    expect(summary.latencyMs.p50).toBeGreaterThanOrEqual(100);
    expect(summary.latencyMs.p50).toBeLessThanOrEqual(102);
    expect(summary.latencyMs.p99).toBeGreaterThanOrEqual(300);
    expect(summary.ttftP50Ms).toBeGreaterThanOrEqual(20);
    expect(summary.ttftP50Ms).toBeLessThanOrEqual(20.4);
  });

  it('reports nothing measured as absent, not as zero', () => {
    const summary = new RunStatistics().summary();
    expect(summary).toEqual({ dispatched: 0, done: 0, failed: 0, failedUnsent: 0, retries: 0, promptTokens: 0, completionTokens: 0, latencyMs: { p50: undefined, p95: undefined, p99: undefined }, ttftP50Ms: undefined, warmStarts: 0, loadReported: 0 });
  });

  it("listening to a scheduler, agrees with the outcomes the sink received; the scheduler's own result holds no counts", async () => {
    // p1 fails for good; every other prompt's first request gets a 500 and its retry an answer.
    const tried = new Set<string>();
    const backend = new FakeBackend('http://a', (request) => {
      const text = String((request.body.messages as Array<{ content: string }>)[0]!.content);
      if (text === 'p1') throw new BackendError('MODEL_NOT_FOUND', 'http://a', 'model "x" not found', { statusCode: 404 });
      if (!tried.has(text)) {
        tried.add(text);
        throw new BackendError('SERVER_ERROR', 'http://a', '500', { retryable: true, statusCode: 500 });
      }
      return { ...answer(request), timings: { latencyMs: 40, modelLoadMs: 1 } };
    });
    const prompts: PromptItem[] = Array.from({ length: 6 }, (_, i) => ({ ...item, customId: `id-${i}`, index: i, body: { messages: [{ role: 'user', content: `p${i}` }] } }));
    const source: WorkSource = {
      models: () => [{ model: null, pending: prompts.length }],
      async *items() {
        yield* prompts;
      },
    };
    const outcomes: ItemOutcome[] = [];
    const sink: ResultSink = { markRunning: () => undefined, record: (outcome) => outcomes.push(outcome), error: undefined as AppError | undefined };
    const statistics = new RunStatistics();
    const router = new StaticRouter([{ backend, info: { type: 'openai', models: [] } }], { health: { failureThreshold: 1000 } });
    const result = await new BatchScheduler({ router, source, sink, workers: 2, listener: statistics, retryPolicy: new RetryPolicy({ retries: 3, random: () => 0, baseDelayMs: 0 }) }).run();
    await router.close();
    expect(Object.keys(result).sort()).toEqual(['stopError', 'stoppedBy', 'wallMs']);
    const summary = statistics.summary();
    expect(summary).toMatchObject({ dispatched: 6, done: 5, failed: 1, retries: 5, promptTokens: 15, completionTokens: 25, warmStarts: 5, loadReported: 5 });
    expect(summary.done).toBe(outcomes.filter((o) => o.status === 'done').length);
    expect(summary.retries).toBe(outcomes.reduce((sum, o) => sum + o.attempts - 1, 0));
    expect(summary.retries + summary.dispatched).toBe(backend.calls);
  });
});
