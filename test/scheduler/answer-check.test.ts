import { describe, expect, it } from 'vitest';
import { runScheduler } from '../helpers/run-scheduler.js';
import { AppError, BackendError } from '../../src/errors.js';
import type { CompletionRequest, CompletionResult } from '../../src/backends/backend.js';
import type { PromptItem } from '../../src/prompts/prompt-item.js';
import type { ItemOutcome } from '../../src/store/item-outcome.js';
import type { ResultSink } from '../../src/scheduler/batch-scheduler.js';
import { jsonAnswerCheck } from '../../src/scheduler/answer-check.js';
import { RetryPolicy } from '../../src/scheduler/retry-policy.js';
import { StaticRouter } from '../../src/app/routing/static-router.js';
import { FakeBackend } from './fake-backend.js';

const schema = { type: 'object', properties: { title: { type: 'string' }, score: { type: 'integer' } }, required: ['title', 'score'] };

function item(body: Record<string, unknown>): PromptItem {
  return { customId: 'p0', index: 0, source: 'in.jsonl:1', endpoint: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'x' }], ...body } };
}

const withSchema = { response_format: { type: 'json_schema', json_schema: { name: 'ticket', schema, strict: true } } };

function text(content: string): CompletionResult {
  return { statusCode: 200, requestId: 'r', body: { object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content } }] }, promptTokens: 1, completionTokens: 1, timings: { latencyMs: 1 } };
}

class MemorySink implements ResultSink {
  readonly outcomes: ItemOutcome[] = [];
  error: AppError | undefined;
  markRunning(): void {}
  record(outcome: ItemOutcome): void {
    this.outcomes.push(outcome);
  }
}

async function run(prompt: PromptItem, script: (n: number, request: CompletionRequest) => CompletionResult, options: { retries: number; jsonRetries: number }) {
  const backend = new FakeBackend('http://a', (request, n) => script(n, request));
  const sink = new MemorySink();
  const retried: string[] = [];
  const summary = await runScheduler({
    router: new StaticRouter([{ backend, info: { type: 'openai', models: [] } }]),
    source: { models: () => [{ model: null, pending: 1 }], items: async function* () { yield prompt; } },
    sink,
    workers: 1,
    retryPolicy: new RetryPolicy({ retries: options.retries, random: () => 0 }),
    answerCheck: jsonAnswerCheck({ retries: options.jsonRetries }),
    listener: { onRetry: (_, error) => retried.push(error.code) },
  });
  return { outcome: sink.outcomes[0]!, summary, calls: backend.calls, retried };
}

const serverError = (): never => {
  throw new BackendError('SERVER_ERROR', 'http://a', 'http://a answered 500', { retryable: true, statusCode: 500 });
};

describe('the answer check in the scheduler', () => {
  it('stores the parsed answer of a prompt that asks for a schema', async () => {
    const { outcome } = await run(item(withSchema), () => text('{"title":"t","score":3}'), { retries: 0, jsonRetries: 0 });
    expect(outcome).toMatchObject({ status: 'done', attempts: 1, answer: { title: 't', score: 3 } });
  });

  it('counts invalid answers apart from transport retries: 2 server errors and 2 invalid answers both fit retries 2 / json-retries 2', async () => {
    const answers = ['500', 'not json', '500', '{"title":1,"score":2}', '{"title":"ok","score":2}'];
    const { outcome, calls, retried, summary } = await run(item(withSchema), (n) => (answers[n - 1] === '500' ? serverError() : text(answers[n - 1]!)), { retries: 2, jsonRetries: 2 });
    expect(outcome).toMatchObject({ status: 'done', attempts: 5, answer: { title: 'ok', score: 2 } });
    expect(calls).toBe(5);
    expect(retried).toEqual(['SERVER_ERROR', 'ANSWER_INVALID', 'SERVER_ERROR', 'ANSWER_INVALID']);
    expect(summary).toMatchObject({ done: 1, failed: 0, retries: 4 });
  });

  it('fails with ANSWER_INVALID, the validator message and the server answer once --json-retries are spent', async () => {
    const { outcome, calls } = await run(item(withSchema), () => text('{"title":7}'), { retries: 5, jsonRetries: 2 });
    expect(calls).toBe(3);
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.code).toBe('ANSWER_INVALID');
    expect(outcome.error?.message).toContain('the answer does not match JSON Schema "ticket"');
    expect(outcome.error?.message).toContain("/: must have required property 'score'");
    expect(outcome.error?.message).toContain('/title: must be string');
    expect(outcome.error?.message).toContain('--json-retries 2');
    expect(outcome.response?.body.choices).toEqual([{ index: 0, message: { role: 'assistant', content: '{"title":7}' } }]);
    expect(outcome.answer).toBeUndefined();
  });

  it('--json-retries 0 fails the first invalid answer; a json_object request only needs JSON', async () => {
    const invalid = await run(item({ response_format: { type: 'json_object' } }), () => text('Sure: {"a":'), { retries: 5, jsonRetries: 0 });
    expect(invalid.calls).toBe(1);
    expect(invalid.outcome.error?.code).toBe('ANSWER_INVALID');
    expect(invalid.outcome.error?.message).toContain('the answer is not JSON');
    expect(invalid.outcome.error?.message).toContain('"Sure: {\\"a\\":"');
    const valid = await run(item({ response_format: { type: 'json_object' } }), () => text(' [1, 2] '), { retries: 0, jsonRetries: 0 });
    expect(valid.outcome).toMatchObject({ status: 'done', answer: [1, 2] });
  });

  it('leaves a prompt without response_format (or with type text) alone: no parsing, no answer', async () => {
    for (const body of [{}, { response_format: { type: 'text' } }]) {
      const { outcome } = await run(item(body), () => text('plain words'), { retries: 0, jsonRetries: 0 });
      expect(outcome.status).toBe('done');
      expect(outcome.answer).toBeUndefined();
    }
  });
});
