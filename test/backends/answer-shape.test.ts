import { afterEach, describe, expect, it } from 'vitest';
import type { ServerResponse } from 'node:http';
import type { Backend, PromptEndpoint } from '../../src/backends/backend.js';
import { OllamaBackend } from '../../src/backends/ollama-backend.js';
import { OpenAiBackend } from '../../src/backends/openai-backend.js';
import { LlamaServerBackend } from '../../src/backends/llama-server-backend.js';
import { BackendError } from '../../src/errors.js';
import { json, startRecordingServer, type Handler, type RecordingServer } from './recording-server.js';

let server: RecordingServer | undefined;
let backend: Backend | undefined;
afterEach(async () => {
  await backend?.close();
  await server?.close();
  backend = undefined;
  server = undefined;
});

async function open(handler: Handler, make: (url: string) => Backend = (url) => new OpenAiBackend({ url })): Promise<Backend> {
  server = await startRecordingServer(handler);
  backend = make(server.url);
  return backend;
}

async function failure(b: Backend, endpoint: PromptEndpoint = '/v1/chat/completions'): Promise<BackendError> {
  const body = endpoint === '/v1/chat/completions' ? { model: 'm1', messages: [{ role: 'user', content: 'hi' }] } : { model: 'm1', prompt: 'hi' };
  const error = await b.complete({ endpoint, body, timeoutMs: 5000 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackendError);
  return error as BackendError;
}

describe('a 200 that is no completion', () => {
  it.each([
    ['no choices', {}, '/v1/chat/completions', 'no `choices` array'],
    ['empty choices', { choices: [] }, '/v1/chat/completions', 'an empty `choices` array'],
    ['a chat choice without message', { choices: [{ index: 0, text: 'hi' }] }, '/v1/chat/completions', 'a choice without `message`'],
    ['a completion choice without text', { choices: [{ index: 0, message: { content: 'hi' } }] }, '/v1/completions', 'a choice without `text`'],
    ['another API', { status: 'ok' }, '/v1/completions', 'no `choices` array'],
  ] as const)('fails retryably as ANSWER_INVALID_SHAPE on %s, with no response of its own', async (_, answer, endpoint, problem) => {
    const error = await failure(await open((_req, res) => json(res, 200, answer)), endpoint);
    expect(error.code).toBe('ANSWER_INVALID_SHAPE');
    expect(error.retryable).toBe(true);
    // A status 200 in the output reads as a success to a script: the error must not carry one.
    expect(error.statusCode).toBeUndefined();
    expect(error.response).toBeUndefined();
    expect(error.message).toContain(`answered 200 to ${endpoint} with ${problem}`);
    expect(error.message).toContain(JSON.stringify(JSON.stringify(answer)));
  });

  it('accepts a tool call (content null) as a chat completion', async () => {
    const b = await open((_req, res) => json(res, 200, { choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'tool_calls' }] }));
    const result = await b.complete({ endpoint: '/v1/chat/completions', body: { messages: [] }, timeoutMs: 5000 });
    expect(result.statusCode).toBe(200);
  });

  it.each([
    ['content null', { role: 'assistant', content: null }],
    ['no content', { role: 'assistant' }],
    ['content null and an empty tool_calls', { role: 'assistant', content: null, tool_calls: [] }],
  ] as const)('fails retryably as ANSWER_NO_CONTENT on a chat message with %s (no answer is no success)', async (_, message) => {
    const answer = { choices: [{ index: 0, message, finish_reason: 'stop' }] };
    for (const make of [(url: string) => new OpenAiBackend({ url }), (url: string) => new LlamaServerBackend({ url })]) {
      const error = await failure(await open((_req, res) => json(res, 200, answer), make));
      expect(error.code).toBe('ANSWER_NO_CONTENT');
      expect(error.retryable).toBe(true);
      expect(error.statusCode).toBeUndefined();
      expect(error.message).toContain('no tool call (finish_reason "stop")');
      await backend?.close();
      await server?.close();
      backend = undefined;
      server = undefined;
    }
  });

  it('fails as ANSWER_INVALID_SHAPE on a stream without any choice (a proxy page, a plain body)', async () => {
    const b = await open(
      (_req, res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>proxy login</html>');
      },
      (url) => new LlamaServerBackend({ url, stream: true }),
    );
    const error = await failure(b);
    expect(error.code).toBe('ANSWER_INVALID_SHAPE');
    expect(error.retryable).toBe(true);
    expect(error.statusCode).toBeUndefined();
    expect(error.message).toContain('<html>proxy login</html>');
  });

  it.each([
    ['/api/chat', '/v1/chat/completions', { model: 'm1', done: true }, 'no `message.content`'],
    ['/api/generate', '/v1/completions', { model: 'm1', done: true }, 'no `response` text'],
  ] as const)('fails as ANSWER_INVALID_SHAPE when Ollama %s answers without text', async (path, endpoint, answer, problem) => {
    const b = await open((_req, res) => json(res, 200, answer), (url) => new OllamaBackend({ url }));
    const error = await failure(b, endpoint);
    expect(server!.requests[0]!.path).toBe(path);
    expect(error.code).toBe('ANSWER_INVALID_SHAPE');
    expect(error.message).toContain(`answered 200 to ${path} with ${problem}`);
  });
});

describe("the server's own error answer", () => {
  it("keeps a 404's JSON body unchanged, with its status and request id", async () => {
    const body = { error: { type: 'not_found_error', message: 'no such route: /v1/chat/completions' } };
    const error = await failure(await open((_req, res) => json(res, 404, body, { 'x-request-id': 'req-404' })));
    expect(error.code).toBe('REQUEST_REJECTED');
    expect(error.statusCode).toBe(404);
    expect(error.response).toEqual({ statusCode: 404, requestId: 'req-404', body });
  });

  it('keeps a 429 body, and no request id when the server sent none', async () => {
    const body = { error: { message: 'slow down', type: 'rate_limit_error' } };
    const error = await failure(await open((_req, res) => json(res, 429, body)));
    expect(error.response).toEqual({ statusCode: 429, requestId: '', body });
  });

  it('makes no body up for an error answer that is not a JSON object (a proxy page)', async () => {
    const error = await failure(
      await open((_req, res: ServerResponse) => {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html>bad gateway</html>');
      }),
    );
    expect(error.code).toBe('SERVER_ERROR');
    expect(error.statusCode).toBe(502);
    expect(error.response).toBeUndefined();
    expect(error.message).toContain('<html>bad gateway</html>');
  });
});

describe("llama-server's prompt-too-long answer", () => {
  it.each([
    ['an older build', { error: { code: 400, message: 'request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it', type: 'invalid_request_error' } }],
    ['a newer build', { error: { code: 400, message: 'the request exceeds the available context size, try increasing it', type: 'exceed_context_size_error', n_prompt_tokens: 5000, n_ctx: 4096 } }],
    [
      'the embedded server (batch serve, managed)',
      { error: { code: 'context_length_exceeded', message: 'the prompt has 5000 tokens, more than fit in the context of 4096 tokens per slot; shorten the prompt or start the server with a larger --ctx', type: 'invalid_request_error' } },
    ],
  ])('fails permanently as CONTEXT_EXCEEDED naming both sizes and the fix (%s)', async (_, body) => {
    const b = await open((_req, res) => json(res, 400, body), (url) => new LlamaServerBackend({ url }));
    const error = await failure(b);
    expect(error.code).toBe('CONTEXT_EXCEEDED');
    expect(error.retryable).toBe(false);
    expect(error.response).toEqual({ statusCode: 400, requestId: '', body });
    expect(error.message).toBe(
      `${server!.url}: the prompt (5000 tokens) does not fit the context of a slot (4096 tokens); raise the context (--ctx for a server batch starts, the server's -c/--ctx-size otherwise, which llama-server splits across its slots) or shorten the prompt`,
    );
  });

  it('leaves other 400s as REQUEST_REJECTED', async () => {
    const error = await failure(await open((_req, res) => json(res, 400, { error: { message: "'messages' must be an array", type: 'invalid_request_error' } })));
    expect(error.code).toBe('REQUEST_REJECTED');
  });
});
