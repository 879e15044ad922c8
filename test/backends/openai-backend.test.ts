import { afterEach, describe, expect, it } from 'vitest';
import { inspect } from 'node:util';
import { OpenAiBackend } from '../../src/backends/openai-backend.js';
import { BackendError, ExitCode } from '../../src/errors.js';
import { json, startRecordingServer, type Handler, type RecordingServer } from './recording-server.js';
import { closedPortUrl } from '../helpers/closed-port-url.js';

const apiKey = 'sk-test-SECRET-1234567890';
const chatBody = { model: 'm1', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 };
const chatAnswer = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'm1',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
};

let server: RecordingServer | undefined;
let backend: OpenAiBackend | undefined;
afterEach(async () => {
  await backend?.close();
  await server?.close();
  backend = undefined;
  server = undefined;
});

async function open(handler: Handler, options: { stream?: boolean; apiKey?: string; connections?: number } = {}): Promise<OpenAiBackend> {
  server = await startRecordingServer(handler);
  backend = new OpenAiBackend({ url: server.url, ...options });
  return backend;
}

async function rejection(promise: Promise<unknown>): Promise<BackendError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackendError);
  return error as BackendError;
}

describe('OpenAiBackend', () => {
  it('POSTs the body to the endpoint and returns the answer with tokens and timings', async () => {
    const b = await open((_, res) => json(res, 200, chatAnswer, { 'x-request-id': 'req-77' }));
    const result = await b.complete({ endpoint: '/v1/chat/completions', body: chatBody, timeoutMs: 5000 });
    expect(server!.requests).toHaveLength(1);
    const sent = server!.requests[0]!;
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.body).toEqual(chatBody);
    expect(sent.headers['content-type']).toBe('application/json');
    expect(sent.headers.authorization).toBeUndefined();
    expect(result.statusCode).toBe(200);
    expect(result.requestId).toBe('req-77');
    expect(result.body).toEqual(chatAnswer);
    expect(result.promptTokens).toBe(3);
    expect(result.completionTokens).toBe(2);
    expect(result.timings.latencyMs).toBeGreaterThanOrEqual(0);
    expect(result.timings.ttftMs).toBeUndefined();
  });

  it('counts usage that is not a whole number of tokens (negative, NaN, beyond 2^53) as unknown, not as Infinity', async () => {
    const usage = { prompt_tokens: -5, completion_tokens: 1e308, total_tokens: 'abc' };
    const b = await open((_, res) => json(res, 200, { ...chatAnswer, usage }));
    const result = await b.complete({ endpoint: '/v1/chat/completions', body: chatBody, timeoutMs: 5000 });
    expect(result.promptTokens).toBe(0);
    expect(result.completionTokens).toBe(0);
    await b.close();
    await server!.close();
    const odd = await open((_, res) => json(res, 200, { ...chatAnswer, usage: { prompt_tokens: -1, completion_tokens: 2.5 }, timings: { prompt_n: 4, predicted_n: 3 } }));
    const fallback = await odd.complete({ endpoint: '/v1/chat/completions', body: chatBody, timeoutMs: 5000 });
    expect(fallback.promptTokens).toBe(4);
    expect(fallback.completionTokens).toBe(3);
  });

  it('uses the body id as request id when the server sends no header', async () => {
    const b = await open((_, res) => json(res, 200, chatAnswer));
    const result = await b.complete({ endpoint: '/v1/chat/completions', body: chatBody, timeoutMs: 5000 });
    expect(result.requestId).toBe('chatcmpl-1');
  });

  it('sends the API key as a bearer token and never shows it in errors', async () => {
    const b = await open((req, res) => (req.path === '/v1/models' ? json(res, 401, { error: { message: 'bad key' } }) : json(res, 500, { error: 'boom' })), { apiKey });
    const failed = await rejection(b.complete({ endpoint: '/v1/completions', body: { model: 'm1', prompt: 'x' }, timeoutMs: 5000 }));
    expect(server!.requests[0]!.headers.authorization).toBe(`Bearer ${apiKey}`);
    const refused = await rejection(b.describe());
    expect(refused.statusCode).toBe(401);
    const downUrl = await closedPortUrl();
    const unreachable = new OpenAiBackend({ url: downUrl, apiKey });
    const down = await rejection(unreachable.complete({ endpoint: '/v1/completions', body: { model: 'm1', prompt: 'x' }, timeoutMs: 5000 }));
    await unreachable.close();
    expect(down.code).toBe('SERVER_UNREACHABLE');
    expect(down.url).toBe(downUrl);
    for (const error of [failed, refused, down]) {
      expect(error.message).not.toContain(apiKey);
      expect(inspect(error, { depth: 6 })).not.toContain(apiKey);
    }
    expect(failed.url).toBe(server!.url);
    expect(Object.values(b).join(' ')).not.toContain(apiKey);
  });

  it('keeps one connection for many sequential requests', async () => {
    const b = await open((_, res) => json(res, 200, chatAnswer));
    for (let i = 0; i < 20; i++) await b.complete({ endpoint: '/v1/chat/completions', body: chatBody, timeoutMs: 5000 });
    expect(server!.requests).toHaveLength(20);
    expect(server!.connections()).toBe(1);
  });

  it('opens at most `connections` sockets under concurrent load', async () => {
    const b = await open((_, res) => json(res, 200, chatAnswer), { connections: 2 });
    await Promise.all(Array.from({ length: 10 }, () => b.complete({ endpoint: '/v1/chat/completions', body: chatBody, timeoutMs: 5000 })));
    expect(server!.requests).toHaveLength(10);
    expect(server!.connections()).toBeLessThanOrEqual(2);
  });

  it('times out against a server that accepts and never answers', async () => {
    const b = await open(() => undefined);
    const error = await rejection(b.complete({ endpoint: '/v1/chat/completions', body: chatBody, timeoutMs: 200 }));
    expect(error.code).toBe('REQUEST_TIMEOUT');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`no answer from ${server!.url} within 200 ms`);
  });

  it('times out a body that starts and never ends', async () => {
    const b = await open((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"id":');
    });
    const error = await rejection(b.complete({ endpoint: '/v1/chat/completions', body: chatBody, timeoutMs: 200 }));
    expect(error.code).toBe('REQUEST_TIMEOUT');
  });

  it("fails permanently with REQUEST_ABORTED when the caller aborts", async () => {
    const b = await open(() => undefined);
    const controller = new AbortController();
    const pending = b.complete({ endpoint: '/v1/chat/completions', body: chatBody, timeoutMs: 30_000, signal: controller.signal });
    await waitFor(() => server!.requests.length === 1);
    controller.abort();
    const error = await rejection(pending);
    expect(error.code).toBe('REQUEST_ABORTED');
    expect(error.retryable).toBe(false);
  });

  it('maps a 429 with Retry-After and a 404 unknown model', async () => {
    const b = await open((req, res) =>
      req.body?.model === 'nope'
        ? json(res, 404, { error: { message: 'The model `nope` does not exist', code: 'model_not_found' } })
        : json(res, 429, { error: { message: 'busy' } }, { 'retry-after': '2' }),
    );
    const busy = await rejection(b.complete({ endpoint: '/v1/chat/completions', body: chatBody, timeoutMs: 5000 }));
    expect(busy.retryable).toBe(true);
    expect(busy.retryAfterMs).toBe(2000);
    expect(busy.statusCode).toBe(429);
    const missing = await rejection(b.complete({ endpoint: '/v1/chat/completions', body: { ...chatBody, model: 'nope' }, timeoutMs: 5000 }));
    expect(missing.code).toBe('MODEL_NOT_FOUND');
    expect(missing.exitCode).toBe(ExitCode.Environment);
    expect(missing.message).toContain('"nope"');
  });

  it('rejects a 200 that is not JSON as retryable', async () => {
    const b = await open((_, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>captive portal</html>');
    });
    const error = await rejection(b.complete({ endpoint: '/v1/chat/completions', body: chatBody, timeoutMs: 5000 }));
    expect(error.code).toBe('ANSWER_NOT_JSON');
    expect(error.retryable).toBe(true);
    expect(error.statusCode).toBeUndefined();
    expect(error.response).toBeUndefined();
    expect(error.message).toContain('<html>captive portal</html>');
  });

  it('lists model ids for describe and reports health from /v1/models', async () => {
    const b = await open((req, res) => (req.path === '/v1/models' ? json(res, 200, { object: 'list', data: [{ id: 'a' }, { id: 'b' }] }) : json(res, 404, {})));
    expect(await b.describe()).toEqual({ type: 'openai', models: ['a', 'b'] });
    expect(await b.health()).toBe('ok');
  });

  it("reports 'down' when nothing listens", async () => {
    backend = new OpenAiBackend({ url: await closedPortUrl() });
    expect(await backend.health()).toBe('down');
    const error = await rejection(backend.describe());
    expect(error.code).toBe('SERVER_UNREACHABLE');
    expect(error.exitCode).toBe(ExitCode.Environment);
  });

  it('validates its options once, at construction', () => {
    expect(() => new OpenAiBackend({ url: 'http://127.0.0.1:1', connections: 0 })).toThrow('expected `connections` to be a whole number >= 1, got 0');
    expect(() => new OpenAiBackend({ url: 'http://127.0.0.1:1', probeTimeoutMs: -1 })).toThrow('expected `probeTimeoutMs` to be a number > 0, got -1');
    expect(() => new OpenAiBackend({ url: 'http://127.0.0.1:1', apiKey: 'a\nb' })).toThrow(/single-line/);
  });
});

/** Waits, event-loop turn by turn with a bound, for a condition the server sets. */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}
