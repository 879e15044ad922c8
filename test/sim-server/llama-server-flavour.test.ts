import { afterEach, describe, expect, it } from 'vitest';
import { simAnswer, startSimServer, type SimServer } from '../sim/sim-server.js';
import { chat, getJson, postJson, send, sseData } from './http.js';

let server: SimServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('llama-server flavour', () => {
  it('answers health, props, slots and models like llama-server', async () => {
    server = await startSimServer({ slots: 3, models: ['m1'], contextSize: 2048, modelPath: '/models/m1.gguf' });
    expect(await getJson(`${server.url}/health`)).toEqual({ status: 200, json: { status: 'ok' } });
    expect((await getJson(`${server.url}/v1/health`)).status).toBe(200);
    const props = await getJson(`${server.url}/props`);
    expect(props.json).toMatchObject({ total_slots: 3, default_generation_settings: { n_ctx: 2048 }, model_path: '/models/m1.gguf' });
    expect(typeof props.json.build_info).toBe('string');
    const slots = await getJson(`${server.url}/slots`);
    expect(slots.json).toEqual([0, 1, 2].map((id) => ({ id, n_ctx: 2048, is_processing: false })));
    const models = await getJson(`${server.url}/v1/models`);
    expect(models.json.data).toHaveLength(1);
    expect(models.json.data[0]).toMatchObject({ id: 'm1', object: 'model', meta: { n_ctx_train: 2048 } });
  });

  it('answers chat and text completions with usage, timings and an answer derived from the prompt', async () => {
    server = await startSimServer({ serviceMs: 8, completionTokens: 12 });
    const answer = await postJson(`${server.url}/v1/chat/completions`, chat('What is 2+2?'));
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      object: 'chat.completion',
      model: 'sim-model',
      choices: [{ index: 0, message: { role: 'assistant', content: simAnswer('What is 2+2?') }, finish_reason: 'stop' }],
      usage: { completion_tokens: 12 },
    });
    expect(answer.json.usage.total_tokens).toBe(answer.json.usage.prompt_tokens + 12);
    expect(answer.json.timings).toMatchObject({ prompt_n: answer.json.usage.prompt_tokens, predicted_n: 12, cache_n: 0, prompt_ms: 2, predicted_ms: 6 });
    expect(answer.json.timings.predicted_per_second).toBe(2000);

    const text = await postJson(`${server.url}/v1/completions`, { prompt: 'Once upon', max_tokens: 5 });
    expect(text.json).toMatchObject({
      object: 'text_completion',
      choices: [{ text: simAnswer('Once upon'), finish_reason: 'length' }],
      usage: { completion_tokens: 5 },
    });
  });

  it('takes the last user message of a chat, including content given as parts', async () => {
    server = await startSimServer();
    const body = { messages: [{ role: 'user', content: 'first' }, { role: 'assistant', content: 'x' }, { role: 'user', content: [{ type: 'text', text: 'sec' }, { type: 'text', text: 'ond' }] }] };
    const answer = await postJson(`${server.url}/v1/chat/completions`, body);
    expect(answer.json.choices[0].message.content).toBe(simAnswer('second'));
    expect(server.stats().byPrompt).toEqual({ second: 1 });
  });

  it('streams SSE chunks whose deltas join into the answer, with usage when asked', async () => {
    server = await startSimServer({ serviceMs: 4 });
    const answer = await send(`${server.url}/v1/chat/completions`, { body: chat('stream me', { stream: true, stream_options: { include_usage: true } }) });
    expect(answer.headers['content-type']).toBe('text/event-stream');
    const events = sseData(answer.text);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    const content = chunks.flatMap((chunk) => chunk.choices).map((choice) => choice.delta.content ?? '').join('');
    expect(content).toBe(simAnswer('stream me'));
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta?.content !== undefined).length).toBeGreaterThan(1);
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ completion_tokens: 16 });
    expect(last.timings).toMatchObject({ predicted_n: 16 });

    const noUsage = sseData((await send(`${server.url}/v1/completions`, { body: { prompt: 'p', stream: true } })).text);
    const parsed = noUsage.slice(0, -1).map((event) => JSON.parse(event));
    expect(parsed.some((chunk) => 'usage' in chunk)).toBe(false);
    expect(parsed.map((chunk) => chunk.choices[0].text).join('')).toBe(simAnswer('p'));
    expect(parsed.at(-1).choices[0].finish_reason).toBe('stop');
  });

  it('answers 503 "Loading model" on health and completions until loadMs has passed', async () => {
    server = await startSimServer({ loadMs: 60_000 });
    const health = await getJson(`${server.url}/health`);
    expect(health).toEqual({ status: 503, json: { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } } });
    expect((await postJson(`${server.url}/v1/completions`, { prompt: 'x' })).status).toBe(503);
    expect((await getJson(`${server.url}/v1/models`)).json.data[0].meta).toBeNull();
    const loaded = await startSimServer({ loadMs: 0 });
    try {
      expect((await getJson(`${loaded.url}/health`)).status).toBe(200);
    } finally {
      await loaded.close();
    }
  });

  it('answers 404 for an unknown model and an unknown path, 400 for a malformed body', async () => {
    server = await startSimServer({ models: ['a', 'b'] });
    const missing = await postJson(`${server.url}/v1/chat/completions`, chat('hi', { model: 'x' }));
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: { message: 'The model `x` does not exist', type: 'invalid_request_error', code: 'model_not_found' } });
    expect((await postJson(`${server.url}/v1/chat/completions`, chat('hi', { model: 'b' }))).json.model).toBe('b');
    expect((await postJson(`${server.url}/v1/chat/completions`, chat('hi'))).json.model).toBe('a');
    expect(server.stats().models).toEqual({ x: 1, b: 1, a: 1 });
    expect((await send(`${server.url}/api/tags`)).status).toBe(404);
    const malformed = await postJson(`${server.url}/v1/chat/completions`, '{"messages": [');
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.message).toMatch(/^Expected a JSON request body/);
    expect((await postJson(`${server.url}/v1/completions`, { prompt: 3 })).status).toBe(400);
  });

  it('requires the API key when one is set, except on /health, and records that it was sent', async () => {
    server = await startSimServer({ apiKey: 'sekret' });
    expect((await getJson(`${server.url}/health`)).status).toBe(200);
    expect(server.stats().authorizationSeen).toBe(false);
    const denied = await postJson(`${server.url}/v1/completions`, { prompt: 'x' });
    expect(denied.status).toBe(401);
    expect((await postJson(`${server.url}/v1/completions`, { prompt: 'x' }, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await getJson(`${server.url}/v1/models`)).status).toBe(401);
    expect(server.stats()).toMatchObject({ authorizationSeen: false, requests: 0 });
    const allowed = await postJson(`${server.url}/v1/completions`, { prompt: 'x' }, { authorization: 'Bearer sekret' });
    expect(allowed.status).toBe(200);
    expect(server.stats()).toMatchObject({ authorizationSeen: true, requests: 1 });
  });
});

describe('openai flavour', () => {
  it('has only /v1/models and the completion endpoints', async () => {
    server = await startSimServer({ flavour: 'openai', models: ['gpt-sim'] });
    expect((await send(`${server.url}/health`)).status).toBe(404);
    expect((await send(`${server.url}/props`)).status).toBe(404);
    expect((await send(`${server.url}/api/tags`)).status).toBe(404);
    const models = await getJson(`${server.url}/v1/models`);
    expect(models.json).toMatchObject({ object: 'list', data: [{ id: 'gpt-sim', object: 'model' }] });
    expect(models.json.data[0].meta).toBeUndefined();
    const answer = await postJson(`${server.url}/v1/chat/completions`, chat('q'));
    expect(answer.json.choices[0].message.content).toBe(simAnswer('q'));
    expect(answer.json.timings).toBeUndefined();
  });
});
