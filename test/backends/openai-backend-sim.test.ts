import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { Backend, CompletionRequest, ServerType } from '../../src/backends/backend.js';
import { detectServerType } from '../../src/backends/detect-server-type.js';
import { createBackend } from '../../src/backends/open-backend.js';
import { BackendError } from '../../src/errors.js';
import { estimateTokens } from '../sim/sim-answer.js';
import { simAnswer, startSimServer, type SimServer } from '../sim/sim-server.js';
import { backendFailure } from './backend-failure.js';
import { closedPortUrl } from '../helpers/closed-port-url.js';

type Json = Record<string, any>;

const apiKey = 'sk-sim-SECRET-0123456789abcdef';
const wrongKey = 'sk-wrong-SECRET-fedcba9876543210';

function chat(prompt: string, timeoutMs = 10_000): CompletionRequest {
  return { endpoint: '/v1/chat/completions', body: { model: 'sim-model', messages: [{ role: 'user', content: prompt }] }, timeoutMs };
}

function completion(prompt: string): CompletionRequest {
  return { endpoint: '/v1/completions', body: { model: 'sim-model', prompt }, timeoutMs: 10_000 };
}

let sim: SimServer | undefined;
let backends: Backend[] = [];

afterEach(async () => {
  for (const backend of backends) await backend.close();
  backends = [];
  await sim?.close();
  sim = undefined;
});

function open(type: ServerType, options: { url: string; apiKey?: string; stream?: boolean }): Backend {
  const backend = createBackend(type, options);
  backends.push(backend);
  return backend;
}

/** Everything an error could leak through: message, stack, url, and its causes as inspected. */
function everything(error: unknown): string {
  return `${inspect(error, { depth: 8, showHidden: true })} ${(error as Error).stack ?? ''} ${(error as BackendError).url ?? ''}`;
}

describe('OpenAiBackend API key (sim)', () => {
  it('sends Authorization: Bearer <key>, which the server accepts', async () => {
    sim = await startSimServer({ flavour: 'openai', apiKey });
    const result = await open('openai', { url: sim.url, apiKey }).complete(chat('with key'));
    expect((result.body as Json).choices[0].message.content).toBe(simAnswer('with key'));
    expect(sim.stats().authorizationSeen).toBe(true);
  });

  it('without a key gets a permanent 401 error that names --api-key-env', async () => {
    sim = await startSimServer({ flavour: 'openai', apiKey });
    const error = await backendFailure(open('openai', { url: sim.url }).complete(chat('no key')));
    expect(error).toMatchObject({ code: 'AUTH_FAILED', statusCode: 401, retryable: false, url: sim.url });
    expect(error.message).toContain('--api-key-env');
    expect(everything(error)).not.toContain(apiKey);
    expect(sim.stats().authorizationSeen).toBe(false);
  });

  it('never puts the key in any error: 401, 404 model, 500, timeout, unreachable, detection', async () => {
    sim = await startSimServer({
      flavour: 'llama-server',
      apiKey,
      script: (_n, request) => (request.promptText === 'fail' ? '500' : request.promptText === 'hang' ? 'hang' : undefined),
    });
    const wrong = open('llama-server', { url: sim.url, apiKey: wrongKey });
    const right = open('llama-server', { url: sim.url, apiKey });
    const unreachable = open('openai', { url: await closedPortUrl(), apiKey });
    const errors: unknown[] = [
      await backendFailure(wrong.complete(chat('wrong key'))),
      await backendFailure(wrong.describe()),
      await backendFailure(right.complete({ ...chat('no model'), body: { model: 'missing', messages: [{ role: 'user', content: 'x' }] } })),
      await backendFailure(right.complete(chat('fail'))),
      await backendFailure(right.complete(chat('hang', 200))),
      await backendFailure(unreachable.complete(chat('nobody home'))),
      await backendFailure(detectServerType(sim.url, { apiKey: wrongKey })),
    ];
    expect(errors.map((error) => (error as BackendError).code)).toEqual([
      'AUTH_FAILED',
      'AUTH_FAILED',
      'MODEL_NOT_FOUND',
      'SERVER_ERROR',
      'REQUEST_TIMEOUT',
      'SERVER_UNREACHABLE',
      'AUTH_FAILED',
    ]);
    for (const error of errors) {
      expect(everything(error)).not.toContain(apiKey);
      expect(everything(error)).not.toContain(wrongKey);
      expect(everything(error)).not.toContain('SECRET');
    }
    expect(inspect(right, { depth: 8, showHidden: true })).not.toContain(apiKey);
  });

  it('refuses a multi-line key at construction without quoting it', () => {
    let thrown: unknown;
    try {
      createBackend('openai', { url: 'http://127.0.0.1:1', apiKey: 'sk-SECRET\nInjected: 1' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'USAGE' });
    expect(everything(thrown)).not.toContain('SECRET');
  });
});

describe.each(['openai', 'llama-server'] as const)('streamed answers (sim %s)', (flavour) => {
  it('assembles server-sent events into a chat.completion body with time to first token', async () => {
    sim = await startSimServer({ flavour, serviceMs: 20 });
    const prompt = `stream me a long enough answer (${flavour})`;
    const result = await open(flavour, { url: sim.url, stream: true }).complete(chat(prompt));
    const body = result.body as Json;
    expect(body.object).toBe('chat.completion');
    expect(body.model).toBe('sim-model');
    expect(body.choices).toEqual([{ index: 0, message: { role: 'assistant', content: simAnswer(prompt) }, finish_reason: 'stop' }]);
    expect(result.promptTokens).toBe(estimateTokens(prompt));
    expect(result.completionTokens).toBe(16);
    expect(body.usage).toMatchObject({ prompt_tokens: result.promptTokens, completion_tokens: 16 });
    expect(result.timings.ttftMs).toBeTypeOf('number');
    expect(result.timings.ttftMs).toBeGreaterThanOrEqual(0);
    expect(result.timings.ttftMs).toBeLessThanOrEqual(result.timings.latencyMs);
    expect(typeof result.requestId).toBe('string');
  });

  it('assembles a streamed completion into a text_completion body', async () => {
    sim = await startSimServer({ flavour });
    const prompt = `complete this streamed text (${flavour})`;
    const result = await open(flavour, { url: sim.url, stream: true }).complete(completion(prompt));
    const body = result.body as Json;
    expect(body.object).toBe('text_completion');
    expect(body.choices[0].text).toBe(simAnswer(prompt));
    expect(body.choices[0].finish_reason).toBe('stop');
    expect(result.timings.ttftMs).toBeTypeOf('number');
  });

  it('maps a streamed 500 and a hang like unstreamed ones', async () => {
    sim = await startSimServer({ flavour, script: (_n, request) => (request.promptText === 'fail' ? '500' : request.promptText === 'hang' ? 'hang' : undefined) });
    const backend = open(flavour, { url: sim.url, stream: true });
    expect(await backendFailure(backend.complete(chat('fail')))).toMatchObject({ code: 'SERVER_ERROR', statusCode: 500, retryable: true });
    expect(await backendFailure(backend.complete(chat('hang', 200)))).toMatchObject({ code: 'REQUEST_TIMEOUT', retryable: true });
  });
});

describe('llama-server timings (sim)', () => {
  it('reads timings into promptMs and predictedMs, unstreamed and streamed', async () => {
    // The sim spends a quarter of serviceMs on the prompt and reports both parts exactly.
    sim = await startSimServer({ flavour: 'llama-server', serviceMs: 40 });
    for (const stream of [false, true]) {
      const result = await open('llama-server', { url: sim.url, stream }).complete(chat(`timed ${stream}`));
      expect(result.timings.promptMs).toBe(10);
      expect(result.timings.predictedMs).toBe(30);
    }
  });

  it('leaves promptMs and predictedMs undefined for a server without timings', async () => {
    sim = await startSimServer({ flavour: 'openai', serviceMs: 40 });
    const result = await open('openai', { url: sim.url }).complete(chat('untimed'));
    expect(result.timings.promptMs).toBeUndefined();
    expect(result.timings.predictedMs).toBeUndefined();
    expect(result.timings.ttftMs).toBeUndefined();
  });
});
