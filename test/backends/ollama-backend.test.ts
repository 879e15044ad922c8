import { afterEach, describe, expect, it } from 'vitest';
import { OllamaBackend } from '../../src/backends/ollama-backend.js';
import { BackendError } from '../../src/errors.js';
import { json, startRecordingServer, type Handler, type RecordingServer } from './recording-server.js';
import { closedPortUrl } from '../helpers/closed-port-url.js';

let server: RecordingServer | undefined;
let backend: OllamaBackend | undefined;
afterEach(async () => {
  await backend?.close();
  await server?.close();
  backend = undefined;
  server = undefined;
});

async function open(handler: Handler, keepAlive?: string): Promise<OllamaBackend> {
  server = await startRecordingServer(handler);
  backend = new OllamaBackend({ url: server.url, keepAlive });
  return backend;
}

const durations = { total_duration: 900_000_000, load_duration: 250_000_000, prompt_eval_count: 12, prompt_eval_duration: 12_500_000, eval_count: 7, eval_duration: 70_250_000 };

describe('OllamaBackend', () => {
  it('sends chat to /api/chat with keep_alive and sampling options, and answers in OpenAI shape', async () => {
    const b = await open((_, res) =>
      json(res, 200, { model: 'llama3.2', created_at: '2026-01-02T03:04:05Z', message: { role: 'assistant', content: 'Hi there' }, done: true, done_reason: 'stop', ...durations }),
    );
    const messages = [{ role: 'user', content: 'hi' }];
    const result = await b.complete({
      endpoint: '/v1/chat/completions',
      body: { model: 'llama3.2', messages, temperature: 0.2, top_p: 0.9, top_k: 40, seed: 7, max_tokens: 32, stop: ['\n'], stream: true, user: 'ignored' },
      timeoutMs: 5000,
    });
    const sent = server!.requests[0]!;
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/api/chat');
    expect(sent.body).toEqual({
      model: 'llama3.2',
      messages,
      stream: false,
      keep_alive: '30m',
      options: { temperature: 0.2, top_p: 0.9, top_k: 40, seed: 7, num_predict: 32, stop: ['\n'] },
    });
    expect(result.statusCode).toBe(200);
    expect(result.body).toEqual({
      id: result.requestId,
      object: 'chat.completion',
      created: Date.parse('2026-01-02T03:04:05Z') / 1000,
      model: 'llama3.2',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi there' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
    });
    expect(result.promptTokens).toBe(12);
    expect(result.completionTokens).toBe(7);
    expect(result.timings.modelLoadMs).toBe(250);
    expect(result.timings.promptMs).toBe(12.5);
    expect(result.timings.predictedMs).toBe(70.25);
  });

  it('sends completions to /api/generate and reports finish_reason length', async () => {
    const b = await open((_, res) => json(res, 200, { model: 'qwen', created_at: '2026-01-02T03:04:05Z', response: 'abc', done: true, done_reason: 'length', ...durations }), '-1');
    const result = await b.complete({ endpoint: '/v1/completions', body: { model: 'qwen', prompt: 'Say abc' }, timeoutMs: 5000 });
    const sent = server!.requests[0]!;
    expect(sent.path).toBe('/api/generate');
    // Seconds go as a JSON number: Ollama reads a string with Go's ParseDuration, which refuses "-1" (no unit).
    expect(sent.body).toEqual({ model: 'qwen', prompt: 'Say abc', stream: false, keep_alive: -1, options: {} });
    expect(result.body.object).toBe('text_completion');
    expect(result.body.choices).toEqual([{ index: 0, text: 'abc', finish_reason: 'length' }]);
  });

  it('sends keep_alive on every request', async () => {
    const b = await open((_, res) => json(res, 200, { model: 'm', response: '', done: true }));
    for (let i = 0; i < 3; i++) await b.complete({ endpoint: '/v1/completions', body: { model: 'm', prompt: String(i) }, timeoutMs: 5000 });
    expect(server!.requests.map((r) => r.body!.keep_alive)).toEqual(['30m', '30m', '30m']);
    expect(server!.connections()).toBe(1);
  });

  it("maps Ollama's unknown-model 404 to MODEL_NOT_FOUND", async () => {
    const b = await open((_, res) => json(res, 404, { error: "model 'nope' not found, try pulling it first" }));
    const error = (await b.complete({ endpoint: '/v1/chat/completions', body: { model: 'nope', messages: [] }, timeoutMs: 5000 }).catch((e: unknown) => e)) as BackendError;
    expect(error).toBeInstanceOf(BackendError);
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.message).toContain("model 'nope' not found");
    expect(error.message).toContain(`\`ollama list\` on the server's machine lists the models it has (GET ${server!.url}/api/tags), \`ollama pull nope\` fetches it`);
  });

  it('describes local and resident models from /api/tags and /api/ps, with no slot count', async () => {
    const b = await open((req, res) => {
      if (req.path === '/api/tags') json(res, 200, { models: [{ name: 'llama3.2:latest', size: 1 }, { name: 'qwen:0.5b', size: 2 }] });
      else if (req.path === '/api/ps') json(res, 200, { models: [{ name: 'qwen:0.5b', size_vram: 5, context_length: 8192 }] });
      else json(res, 404, '404 page not found');
    });
    expect(await b.describe()).toEqual({ type: 'ollama', models: ['llama3.2:latest', 'qwen:0.5b'], contextSize: 8192 });
    expect(new Set(server!.requests.map((r) => r.path))).toEqual(new Set(['/api/tags', '/api/ps']));
  });

  it("reports health from /api/version, and 'down' when refused", async () => {
    const b = await open((req, res) => (req.path === '/api/version' ? json(res, 200, { version: '0.12.0' }) : json(res, 404, {})));
    expect(await b.health()).toBe('ok');
    expect(server!.requests.map((r) => r.path)).toEqual(['/api/version']);
    const down = new OllamaBackend({ url: await closedPortUrl() });
    expect(await down.health()).toBe('down');
    await down.close();
  });

  it('validates keepAlive', () => {
    expect(() => new OllamaBackend({ url: 'http://127.0.0.1:1', keepAlive: ' ' })).toThrow('expected `keepAlive` to be an Ollama keep_alive: a duration such as 30m');
    expect(() => new OllamaBackend({ url: 'http://127.0.0.1:1', keepAlive: 'banana' })).toThrow('got "banana"');
  });
});
