import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, CompletionRequest, ServerType } from '../../src/backends/backend.js';
import { createBackend } from '../../src/backends/open-backend.js';
import { ExitCode } from '../../src/errors.js';
import { estimateTokens } from '../sim/sim-answer.js';
import { simAnswer, startSimServer, type SimFault, type SimRequest, type SimServer } from '../sim/sim-server.js';
import { backendFailure } from './backend-failure.js';
import { startCountingModelServer, type CountingModelServer } from './counting-model-server.js';

const flavours: readonly ServerType[] = ['llama-server', 'ollama', 'openai'];

/** Aborted by the sim's script once the request has reached the server: an abort mid-request. */
let abortOnArrival: AbortController | undefined;

/** Faults chosen by prompt text, so that tests do not depend on request numbering. */
function script(_n: number, request: SimRequest): SimFault | undefined {
  switch (request.promptText) {
    case 'fault:500':
      return '500';
    case 'fault:429':
      return '429';
    case 'fault:drop':
      return 'drop';
    case 'fault:hang':
      return 'hang';
    case 'fault:abort': {
      const controller = abortOnArrival;
      setImmediate(() => controller?.abort());
      return 'hang';
    }
    default:
      return undefined;
  }
}

function chat(prompt: string, extra: Record<string, unknown> = {}, timeoutMs = 10_000): CompletionRequest {
  return { endpoint: '/v1/chat/completions', body: { model: 'sim-model', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: prompt }], ...extra }, timeoutMs };
}

function completion(prompt: string, extra: Record<string, unknown> = {}): CompletionRequest {
  return { endpoint: '/v1/completions', body: { model: 'sim-model', prompt, ...extra }, timeoutMs: 10_000 };
}

type Json = Record<string, any>;

describe.each(flavours)('backend contract: %s', (flavour) => {
  let sim: SimServer;
  let backend: Backend;

  beforeAll(async () => {
    sim = await startSimServer({ flavour, slots: 3, contextSize: 2048, models: ['sim-model', 'second-model'], script, faults: { retryAfterSeconds: 7 } });
    backend = createBackend(flavour, { url: sim.url });
  });

  afterAll(async () => {
    await backend?.close();
    await sim?.close();
  });

  it('answers a chat request with an OpenAI chat.completion body', async () => {
    const prompt = `chat prompt for ${flavour}`;
    const result = await backend.complete(chat(prompt));
    const body = result.body as Json;
    expect(result.statusCode).toBe(200);
    expect(typeof result.requestId).toBe('string');
    expect(result.requestId).not.toBe('');
    expect(body.object).toBe('chat.completion');
    expect(body.model).toBe('sim-model');
    expect(body.choices).toHaveLength(1);
    expect(body.choices[0].message).toEqual({ role: 'assistant', content: simAnswer(prompt) });
    expect(body.choices[0].finish_reason).toBe('stop');
    expect(result.promptTokens).toBe(estimateTokens(prompt));
    expect(result.completionTokens).toBe(16);
    expect(body.usage).toMatchObject({ prompt_tokens: result.promptTokens, completion_tokens: 16 });
    expect(result.timings.latencyMs).toBeGreaterThanOrEqual(0);
    expect(sim.stats().byPrompt[prompt]).toBe(1);
  });

  it('answers a completions request with an OpenAI text_completion body', async () => {
    const prompt = `completion prompt for ${flavour}`;
    const result = await backend.complete(completion(prompt));
    const body = result.body as Json;
    expect(result.statusCode).toBe(200);
    expect(body.object).toBe('text_completion');
    expect(body.choices[0].text).toBe(simAnswer(prompt));
    expect(result.promptTokens).toBe(estimateTokens(prompt));
    expect(result.completionTokens).toBe(16);
    expect(body.usage).toMatchObject({ prompt_tokens: result.promptTokens, completion_tokens: 16 });
  });

  it('passes max_tokens on, so that the answer is cut with finish_reason "length"', async () => {
    const result = await backend.complete(chat(`short answer for ${flavour}`, { max_tokens: 5 }));
    expect(result.completionTokens).toBe(5);
    expect((result.body as Json).choices[0].finish_reason).toBe('length');
  });

  it('serves another model the server has', async () => {
    const result = await backend.complete(chat(`second model for ${flavour}`, { model: 'second-model' }));
    expect((result.body as Json).model).toBe('second-model');
    expect(sim.stats().models['second-model']).toBeGreaterThanOrEqual(1);
  });

  it('describes the endpoint: its type, models, and for llama-server its slots and context size', async () => {
    const info = await backend.describe();
    expect(info.type).toBe(flavour);
    expect(backend.type).toBe(flavour);
    expect(info.models).toEqual(['sim-model', 'second-model']);
    if (flavour === 'llama-server') {
      expect(info.slots).toBe(3);
      expect(info.contextSize).toBe(2048);
    }
  });

  it('reports health "ok"', async () => {
    expect(await backend.health()).toBe('ok');
  });

  it('fails a request naming a model the server lacks with MODEL_NOT_FOUND, not retryable', async () => {
    const error = await backendFailure(backend.complete(chat('unknown model', { model: 'no-such-model' })));
    expect(error).toMatchObject({ code: 'MODEL_NOT_FOUND', retryable: false, statusCode: 404, url: sim.url, exitCode: ExitCode.Environment });
    expect(error.message).toContain('"no-such-model"');
    expect(error.message).toContain(flavour === 'ollama' ? `\`ollama list\` on the server's machine lists the models it has (GET ${sim.url}/api/tags)` : `GET ${sim.url}/v1/models lists them`);
  });

  it('turns a 500 into a retryable error with statusCode 500', async () => {
    const error = await backendFailure(backend.complete(chat('fault:500')));
    expect(error).toMatchObject({ code: 'SERVER_ERROR', retryable: true, statusCode: 500, url: sim.url });
    expect(error.message).toContain('Internal server error (simulated)');
  });

  it("turns a 429 into a retryable error carrying the server's Retry-After", async () => {
    const error = await backendFailure(backend.complete(chat('fault:429')));
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryable: true, statusCode: 429, retryAfterMs: 7000 });
  });

  it('turns a dropped connection into a retryable error, and the next request still succeeds', async () => {
    const error = await backendFailure(backend.complete(chat('fault:drop')));
    expect(error.code).toBe('CONNECTION_RESET');
    expect(error.retryable).toBe(true);
    expect(error.statusCode).toBeUndefined();
    expect(error.url).toBe(sim.url);
    const after = await backend.complete(chat(`after a drop on ${flavour}`));
    expect((after.body as Json).choices[0].message.content).toBe(simAnswer(`after a drop on ${flavour}`));
  });

  it('gives up on a hung request at timeoutMs with a retryable REQUEST_TIMEOUT', async () => {
    const hangsBefore = sim.stats().faults.hang;
    const error = await backendFailure(backend.complete(chat('fault:hang', {}, 300)));
    expect(error).toMatchObject({ code: 'REQUEST_TIMEOUT', retryable: true, url: sim.url });
    expect(error.message).toContain('300 ms');
    expect(sim.stats().faults.hang).toBe(hangsBefore + 1);
    const after = await backend.complete(chat(`after a hang on ${flavour}`));
    expect(after.statusCode).toBe(200);
  });

  it('fails with REQUEST_ABORTED, not retryable, when the signal aborts mid-request', async () => {
    abortOnArrival = new AbortController();
    const request = { ...chat('fault:abort'), signal: abortOnArrival.signal };
    const error = await backendFailure(backend.complete(request));
    expect(abortOnArrival.signal.aborted).toBe(true);
    expect(error).toMatchObject({ code: 'REQUEST_ABORTED', retryable: false, url: sim.url });
    expect(sim.stats().byPrompt['fault:abort']).toBe(1);
  });

  it('fails at once with REQUEST_ABORTED when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const before = sim.stats().requests;
    const error = await backendFailure(backend.complete({ ...chat('never sent'), signal: controller.signal }));
    expect(error).toMatchObject({ code: 'REQUEST_ABORTED', retryable: false });
    expect(sim.stats().requests).toBe(before);
  });
});

describe.each(flavours)('connection reuse: %s', (flavour) => {
  let server: CountingModelServer | undefined;
  let backend: Backend | undefined;

  afterEach(async () => {
    await backend?.close();
    await server?.close();
    backend = undefined;
    server = undefined;
  });

  it('sends 50 sequential requests over a kept-alive connection', async () => {
    server = await startCountingModelServer();
    backend = createBackend(flavour, { url: server.url });
    for (let i = 0; i < 50; i++) {
      const result = await backend.complete(chat(`reuse ${i}`));
      expect((result.body as Json).choices[0].message.content).toBe('recorded answer');
    }
    expect(server.received).toHaveLength(50);
    // A new TCP connection per prompt would show 50 here.
    expect(server.connections()).toBeLessThanOrEqual(2);
  });
});

describe.each(flavours)('health: %s', (flavour) => {
  let sim: SimServer | undefined;
  let backend: Backend | undefined;

  afterEach(async () => {
    await backend?.close();
    await sim?.close();
    backend = undefined;
    sim = undefined;
  });

  it("reports 'down' once the server is gone, and describe() rejects with SERVER_UNREACHABLE", async () => {
    sim = await startSimServer({ flavour });
    backend = createBackend(flavour, { url: sim.url });
    expect(await backend.health()).toBe('ok');
    await sim.close();
    expect(await backend.health()).toBe('down');
    const error = await backendFailure(backend.describe());
    expect(error).toMatchObject({ code: 'SERVER_UNREACHABLE', retryable: true, exitCode: ExitCode.Environment, url: sim.url });
  });
});

describe('health: llama-server loading', () => {
  let sim: SimServer | undefined;
  let backend: Backend | undefined;

  afterEach(async () => {
    await backend?.close();
    await sim?.close();
  });

  it("reports 'loading' while llama-server loads its model, and a 503 is retryable", async () => {
    sim = await startSimServer({ flavour: 'llama-server', loadMs: 60_000 });
    backend = createBackend('llama-server', { url: sim.url });
    expect(await backend.health()).toBe('loading');
    const error = await backendFailure(backend.complete(chat('too early')));
    expect(error).toMatchObject({ code: 'SERVER_ERROR', statusCode: 503, retryable: true });
    expect(error.message).toContain('Loading model');
  });
});
