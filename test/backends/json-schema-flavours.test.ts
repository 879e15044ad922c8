import { afterEach, describe, expect, it } from 'vitest';
import { LlamaServerBackend } from '../../src/backends/llama-server-backend.js';
import { OllamaBackend } from '../../src/backends/ollama-backend.js';
import { OpenAiBackend } from '../../src/backends/openai-backend.js';
import { jsonSchemaResponseFormat } from '../../src/backends/answer-shape.js';
import type { Backend, PromptEndpoint } from '../../src/backends/backend.js';
import { AppError } from '../../src/errors.js';
import { json, startRecordingServer, type RecordingServer } from './recording-server.js';

const schema = { type: 'object', properties: { title: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } }, required: ['title'] };
const responseFormat = jsonSchemaResponseFormat('ticket', schema);
const openAiAnswer = (path: string): Record<string, unknown> =>
  path.endsWith('/chat/completions')
    ? { object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: '{"title":"t"}' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } }
    : { object: 'text_completion', choices: [{ index: 0, text: '{"title":"t"}', finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } };
const ollamaAnswer = (path: string): Record<string, unknown> =>
  path === '/api/chat'
    ? { model: 'm', created_at: '2026-01-02T03:04:05Z', message: { role: 'assistant', content: '{"title":"t"}' }, done: true, prompt_eval_count: 1, eval_count: 1 }
    : { model: 'm', created_at: '2026-01-02T03:04:05Z', response: '{"title":"t"}', done: true, prompt_eval_count: 1, eval_count: 1 };

let server: RecordingServer | undefined;
let backend: Backend | undefined;
afterEach(async () => {
  await backend?.close();
  await server?.close();
  backend = undefined;
  server = undefined;
});

async function sent(flavour: 'openai' | 'llama-server' | 'ollama', endpoint: PromptEndpoint, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  server = await startRecordingServer((request, res) => json(res, 200, flavour === 'ollama' ? ollamaAnswer(request.path) : openAiAnswer(request.path)));
  backend = flavour === 'ollama' ? new OllamaBackend({ url: server.url }) : flavour === 'llama-server' ? new LlamaServerBackend({ url: server.url }) : new OpenAiBackend({ url: server.url });
  await backend.complete({ endpoint, body: { model: 'm', ...body }, timeoutMs: 5000 });
  expect(server.requests).toHaveLength(1);
  return server.requests[0]!.body!;
}

const chat = { messages: [{ role: 'user', content: 'hi' }] };
const completion = { prompt: 'hi' };

describe('the JSON Schema reaches each flavour in its own field', () => {
  it("OpenAI-compatible: OpenAI's response_format json_schema, unchanged, on both endpoints", async () => {
    expect((await sent('openai', '/v1/chat/completions', { ...chat, response_format: responseFormat })).response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'ticket', schema, strict: true },
    });
    await backend!.close();
    await server!.close();
    const body = await sent('openai', '/v1/completions', { ...completion, response_format: responseFormat });
    expect(body.response_format).toEqual(responseFormat);
    expect(body.json_schema).toBeUndefined();
  });

  it('llama-server chat: response_format json_schema, which its chat endpoint reads (no second json_schema field, which it would refuse beside a grammar)', async () => {
    const body = await sent('llama-server', '/v1/chat/completions', { ...chat, response_format: responseFormat });
    expect(body.response_format).toEqual(responseFormat);
    expect(body.json_schema).toBeUndefined();
  });

  it('llama-server chat json_object: its own response_format.schema too, without which it would not constrain the answer', async () => {
    expect((await sent('llama-server', '/v1/chat/completions', { ...chat, response_format: { type: 'json_object' } })).response_format).toEqual({ type: 'json_object', schema: { type: 'object' } });
  });

  it('llama-server completions: its own json_schema field (the endpoint ignores response_format); json_object becomes an object schema', async () => {
    expect((await sent('llama-server', '/v1/completions', { ...completion, response_format: responseFormat })).json_schema).toEqual(schema);
    await backend!.close();
    await server!.close();
    expect((await sent('llama-server', '/v1/completions', { ...completion, response_format: { type: 'json_object' } })).json_schema).toEqual({ type: 'object' });
    await backend!.close();
    await server!.close();
    // A grammar of the request's own wins: llama-server takes one constraint.
    const own = await sent('llama-server', '/v1/completions', { ...completion, grammar: 'root ::= "x"', response_format: responseFormat });
    expect(own.json_schema).toBeUndefined();
  });

  it("Ollama: `format` holds the schema object on /api/chat and /api/generate, \"json\" for json_object; OpenAI's response_format is not sent", async () => {
    const chatBody = await sent('ollama', '/v1/chat/completions', { ...chat, response_format: responseFormat });
    expect(chatBody.format).toEqual(schema);
    expect(chatBody.response_format).toBeUndefined();
    await backend!.close();
    await server!.close();
    expect((await sent('ollama', '/v1/completions', { ...completion, response_format: responseFormat })).format).toEqual(schema);
    await backend!.close();
    await server!.close();
    expect((await sent('ollama', '/v1/chat/completions', { ...chat, response_format: { type: 'json_object' } })).format).toBe('json');
    await backend!.close();
    await server!.close();
    expect((await sent('ollama', '/v1/chat/completions', chat)).format).toBeUndefined();
  });
});

describe('Ollama adapter: array-of-parts message content', () => {
  it('joins text parts into one string and sends data: URL images as base64 in `images`', async () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in the picture?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'text', text: 'One word.' },
          { type: 'image_url', image_url: 'data:image/jpeg;base64,/9j/4AAQ' },
        ],
      },
    ];
    const body = await sent('ollama', '/v1/chat/completions', { messages });
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is in the picture?\nOne word.', images: ['iVBORw0KGgo=', '/9j/4AAQ'] },
    ]);
  });

  it('fails a prompt whose image is a web URL with PROMPT_INVALID naming the part, and sends nothing', async () => {
    server = await startRecordingServer((request, res) => json(res, 200, ollamaAnswer(request.path)));
    backend = new OllamaBackend({ url: server.url });
    const messages = [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }];
    const error = (await backend.complete({ endpoint: '/v1/chat/completions', body: { model: 'm', messages }, timeoutMs: 5000 }).catch((e: unknown) => e)) as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'PROMPT_INVALID', retryable: false });
    expect(error.message).toContain('messages[0].content[1]: Ollama takes images only inline, as base64 data: URLs');
    expect(error.message).toContain('"https://example.com/cat.png"');
    expect(server.requests).toHaveLength(0);
  });
});
