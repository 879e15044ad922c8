import { afterEach, describe, expect, it } from 'vitest';
import { LlamaServerBackend } from '../../src/backends/llama-server-backend.js';
import { BackendError } from '../../src/errors.js';
import { json, startRecordingServer, type Handler, type RecordingServer } from './recording-server.js';
import { closedPortUrl } from '../helpers/closed-port-url.js';

let server: RecordingServer | undefined;
let backend: LlamaServerBackend | undefined;
afterEach(async () => {
  await backend?.close();
  await server?.close();
  backend = undefined;
  server = undefined;
});

async function open(handler: Handler): Promise<LlamaServerBackend> {
  server = await startRecordingServer(handler);
  backend = new LlamaServerBackend({ url: server.url });
  return backend;
}

const props = { total_slots: 4, default_generation_settings: { n_ctx: 2048 }, model_path: '/models/tiny.gguf' };

describe('LlamaServerBackend', () => {
  it('reads timings into promptMs and predictedMs', async () => {
    const b = await open((_, res) =>
      json(res, 200, {
        id: 'chatcmpl-3',
        object: 'chat.completion',
        created: 1,
        model: 'tiny',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 },
        timings: { cache_n: 0, prompt_n: 11, prompt_ms: 12.5, predicted_n: 5, predicted_ms: 40.25 },
      }),
    );
    const result = await b.complete({ endpoint: '/v1/chat/completions', body: { model: 'tiny', messages: [] }, timeoutMs: 5000 });
    expect(server!.requests[0]!.path).toBe('/v1/chat/completions');
    expect(result.timings.promptMs).toBe(12.5);
    expect(result.timings.predictedMs).toBe(40.25);
    expect(result.promptTokens).toBe(11);
    expect(result.completionTokens).toBe(5);
  });

  it('falls back to timings for token counts when usage is missing', async () => {
    const b = await open((_, res) => json(res, 200, { id: 'x', choices: [{ index: 0, text: 'hi', finish_reason: 'stop' }], timings: { prompt_n: 3, predicted_n: 9, prompt_ms: 1, predicted_ms: 2 } }));
    const result = await b.complete({ endpoint: '/v1/completions', body: { prompt: 'x' }, timeoutMs: 5000 });
    expect(server!.requests[0]!.path).toBe('/v1/completions');
    expect(result.promptTokens).toBe(3);
    expect(result.completionTokens).toBe(9);
  });

  it('describes slots and context from /props and models from /v1/models', async () => {
    const b = await open((req, res) => {
      if (req.path === '/props') json(res, 200, props);
      else if (req.path === '/v1/models') json(res, 200, { object: 'list', data: [{ id: 'tiny.gguf', meta: null }] });
      else json(res, 404, { error: { message: 'File Not Found' } });
    });
    expect(await b.describe()).toEqual({ type: 'llama-server', slots: 4, contextSize: 2048, models: ['tiny.gguf'] });
  });

  it('describes an old build without /v1/models as serving no named model', async () => {
    const b = await open((req, res) => (req.path === '/props' ? json(res, 200, props) : json(res, 404, { error: { message: 'File Not Found' } })));
    expect(await b.describe()).toEqual({ type: 'llama-server', slots: 4, contextSize: 2048, models: [] });
  });

  it('rejects describe when /props fails', async () => {
    const b = await open((_, res) => json(res, 500, { error: { message: 'broken' } }));
    const error = await b.describe().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).statusCode).toBe(500);
  });

  it("reports health from /health: 200 → 'ok', 503 → 'loading'", async () => {
    let loading = true;
    const b = await open((req, res) => {
      expect(req.path).toBe('/health');
      if (loading) json(res, 503, { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } });
      else json(res, 200, { status: 'ok' });
    });
    expect(await b.health()).toBe('loading');
    loading = false;
    expect(await b.health()).toBe('ok');
  });

  it("reports 'down' when the connection is refused", async () => {
    backend = new LlamaServerBackend({ url: await closedPortUrl() });
    expect(await backend.health()).toBe('down');
  });
});
