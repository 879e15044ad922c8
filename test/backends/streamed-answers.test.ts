import { afterEach, describe, expect, it } from 'vitest';
import type { ServerResponse } from 'node:http';
import { OpenAiBackend } from '../../src/backends/openai-backend.js';
import { BackendError } from '../../src/errors.js';
import { json, startRecordingServer, type Handler, type RecordingServer } from './recording-server.js';

let server: RecordingServer | undefined;
let backend: OpenAiBackend | undefined;
afterEach(async () => {
  await backend?.close();
  await server?.close();
  backend = undefined;
  server = undefined;
});

async function open(handler: Handler): Promise<OpenAiBackend> {
  server = await startRecordingServer(handler);
  backend = new OpenAiBackend({ url: server.url, stream: true });
  return backend;
}

/** Writes server-sent events, each `write` a separate chunk, the way servers flush tokens. */
function sse(res: ServerResponse, events: readonly string[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req-sse' });
  for (const event of events) res.write(event);
  res.end();
}

const base = { id: 'chatcmpl-9', object: 'chat.completion.chunk', created: 42, model: 'm1' };
const chatEvents = [
  `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`,
  `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] })}\n\n`,
  `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: 'lo ✓' }, finish_reason: null }] })}\n\n`,
  `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'length' }] })}\n\n`,
  `data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 }, timings: { prompt_ms: 1.5, predicted_ms: 9.25 } })}\n\n`,
  'data: [DONE]\n\n',
];

describe('streamed answers (stream: true)', () => {
  it('asks for usage, assembles a chat.completion body and measures time to first token', async () => {
    const b = await open((_, res) => sse(res, chatEvents));
    const result = await b.complete({ endpoint: '/v1/chat/completions', body: { model: 'm1', messages: [{ role: 'user', content: 'hi' }] }, timeoutMs: 5000 });
    const sent = server!.requests[0]!.body!;
    expect(sent.stream).toBe(true);
    expect(sent.stream_options).toEqual({ include_usage: true });
    expect(sent.messages).toEqual([{ role: 'user', content: 'hi' }]);
    expect(result.body).toEqual({
      id: 'chatcmpl-9',
      object: 'chat.completion',
      created: 42,
      model: 'm1',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello ✓' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 },
      timings: { prompt_ms: 1.5, predicted_ms: 9.25 },
    });
    expect(result.requestId).toBe('req-sse');
    expect(result.promptTokens).toBe(4);
    expect(result.completionTokens).toBe(3);
    expect(result.timings.ttftMs).toBeTypeOf('number');
    expect(result.timings.ttftMs!).toBeGreaterThanOrEqual(0);
    expect(result.timings.ttftMs!).toBeLessThanOrEqual(result.timings.latencyMs);
    expect(result.timings.promptMs).toBe(1.5);
    expect(result.timings.predictedMs).toBe(9.25);
  });

  it('assembles a text_completion body from events split mid-line and mid-character', async () => {
    const events = [
      `data: ${JSON.stringify({ id: 'cmpl-1', object: 'text_completion', created: 7, model: 'm1', choices: [{ index: 0, text: 'é', finish_reason: null }] })}\n\n`,
      `data: ${JSON.stringify({ id: 'cmpl-1', object: 'text_completion', created: 7, model: 'm1', choices: [{ index: 0, text: '日本', finish_reason: 'stop' }] })}\n\n`,
      'data: [DONE]\n\n',
    ];
    const bytes = Buffer.from(events.join(''), 'utf8');
    const b = await open((_, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // Three bytes at a time: lines and multi-byte characters both straddle chunks.
      for (let i = 0; i < bytes.length; i += 3) res.write(bytes.subarray(i, i + 3));
      res.end();
    });
    const result = await b.complete({ endpoint: '/v1/completions', body: { model: 'm1', prompt: 'x' }, timeoutMs: 5000 });
    expect(result.body).toEqual({ id: 'cmpl-1', object: 'text_completion', created: 7, model: 'm1', choices: [{ index: 0, text: 'é日本', finish_reason: 'stop' }] });
    expect(result.requestId).toBe('cmpl-1');
    expect(result.promptTokens).toBe(0);
  });

  it('leaves ttftMs undefined when no text arrives', async () => {
    const b = await open((_, res) => sse(res, [chatEvents[0]!, chatEvents[3]!, 'data: [DONE]\n\n']));
    const result = await b.complete({ endpoint: '/v1/chat/completions', body: { model: 'm1', messages: [] }, timeoutMs: 5000 });
    expect(result.timings.ttftMs).toBeUndefined();
    expect((result.body.choices as Array<{ message: { content: string } }>)[0]!.message.content).toBe('');
  });

  it('maps an error answer the same way as without streaming', async () => {
    const b = await open((_, res) => json(res, 503, { error: { code: 503, message: 'Loading model' } }, { 'retry-after': '1' }));
    const error = await b.complete({ endpoint: '/v1/chat/completions', body: { model: 'm1', messages: [] }, timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).statusCode).toBe(503);
    expect((error as BackendError).retryable).toBe(true);
    expect((error as BackendError).retryAfterMs).toBe(1000);
  });

  it('fails retryably on an event that is not JSON, saying what came', async () => {
    const b = await open((_, res) => sse(res, ['data: {"id":\n\n']));
    const error = (await b.complete({ endpoint: '/v1/chat/completions', body: { model: 'm1', messages: [] }, timeoutMs: 5000 }).catch((e: unknown) => e)) as BackendError;
    expect(error).toBeInstanceOf(BackendError);
    expect(error.code).toBe('ANSWER_NOT_JSON');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('"{\\"id\\":"');
  });

  it("fails retryably with SERVER_ERROR on llama-server's mid-stream error event, quoting its message", async () => {
    const failure = `data: ${JSON.stringify({ error: { code: 500, message: 'slot 0: failed to decode the batch', type: 'server_error' } })}\n\n`;
    const b = await open((_, res) => sse(res, [chatEvents[1]!, failure]));
    const error = (await b.complete({ endpoint: '/v1/chat/completions', body: { model: 'm1', messages: [] }, timeoutMs: 5000 }).catch((e: unknown) => e)) as BackendError;
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: 'SERVER_ERROR', retryable: true, statusCode: undefined, response: undefined });
    expect(error.message).toBe(`${server!.url} reported an error mid-stream: slot 0: failed to decode the batch`);
  });

  it('fails permanently with CONTEXT_EXCEEDED on a mid-stream error that says the request is too long', async () => {
    const failure = `data: ${JSON.stringify({ error: { code: 400, message: 'the request exceeds the available context size', type: 'exceed_context_size_error' } })}\n\n`;
    const b = await open((_, res) => sse(res, [failure]));
    const error = (await b.complete({ endpoint: '/v1/chat/completions', body: { model: 'm1', messages: [] }, timeoutMs: 5000 }).catch((e: unknown) => e)) as BackendError;
    expect(error).toMatchObject({ code: 'CONTEXT_EXCEEDED', retryable: false });
    expect(error.message).toContain('raise the context');
  });

  it('times out a stream that stops in the middle', async () => {
    const b = await open((_, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chatEvents[1]!);
    });
    const error = (await b.complete({ endpoint: '/v1/chat/completions', body: { model: 'm1', messages: [] }, timeoutMs: 200 }).catch((e: unknown) => e)) as BackendError;
    expect(error).toBeInstanceOf(BackendError);
    expect(error.code).toBe('REQUEST_TIMEOUT');
    expect(error.retryable).toBe(true);
  });
});
