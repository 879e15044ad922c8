import { afterEach, describe, expect, it } from 'vitest';
import { simAnswer, startSimServer, type SimServer } from '../sim/sim-server.js';
import { chat, getJson, postJson, send } from './http.js';

let server: SimServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const ndjson = (text: string): any[] => text.trimEnd().split('\n').map((line) => JSON.parse(line));

describe('ollama flavour', () => {
  it('answers /, /api/version and /api/tags, and has no llama-server endpoints', async () => {
    server = await startSimServer({ flavour: 'ollama', models: ['llama3.2:1b', 'qwen3:0.6b'] });
    const root = await send(`${server.url}/`);
    expect(root).toMatchObject({ status: 200, text: 'Ollama is running' });
    expect(typeof (await getJson(`${server.url}/api/version`)).json.version).toBe('string');
    const tags = (await getJson(`${server.url}/api/tags`)).json;
    expect(tags.models.map((model: any) => model.name)).toEqual(['llama3.2:1b', 'qwen3:0.6b']);
    expect(tags.models.every((model: any) => Number.isInteger(model.size) && model.size > 0)).toBe(true);
    expect((await send(`${server.url}/health`)).status).toBe(404);
    expect((await send(`${server.url}/props`)).status).toBe(404);
    expect((await getJson(`${server.url}/v1/models`)).json.data.map((model: any) => model.id)).toEqual(['llama3.2:1b', 'qwen3:0.6b']);
  });

  it('streams NDJSON by default and answers one object with "stream": false, durations in nanoseconds', async () => {
    server = await startSimServer({ flavour: 'ollama', serviceMs: 20, completionTokens: 10 });
    const streamed = await send(`${server.url}/api/generate`, { body: { model: 'sim-model', prompt: 'tell me' } });
    expect(streamed.headers['content-type']).toBe('application/x-ndjson');
    const lines = ndjson(streamed.text);
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.slice(0, -1).every((line) => line.done === false)).toBe(true);
    expect(lines.map((line) => line.response).join('')).toBe(simAnswer('tell me'));
    const last = lines.at(-1);
    expect(last).toMatchObject({ done: true, done_reason: 'stop', eval_count: 10, prompt_eval_duration: 5_000_000, eval_duration: 15_000_000 });
    expect(last.total_duration).toBe(last.load_duration + last.prompt_eval_duration + last.eval_duration);

    const single = await postJson(`${server.url}/api/chat`, chat('hello', { stream: false, options: { num_predict: 3 } }));
    expect(single.json).toMatchObject({
      model: 'sim-model',
      message: { role: 'assistant', content: simAnswer('hello') },
      done: true,
      done_reason: 'length',
      eval_count: 3,
    });
    expect(single.json.eval_count / single.json.eval_duration * 1e9).toBe(200);
  });

  it('makes a model resident on first use: the first request pays loadMs, later ones ~0', async () => {
    server = await startSimServer({ flavour: 'ollama', loadMs: 30, models: ['a', 'b'] });
    expect((await getJson(`${server.url}/api/ps`)).json.models).toEqual([]);
    const first = await postJson(`${server.url}/api/generate`, { model: 'a', prompt: 'x', stream: false, keep_alive: '10m' });
    expect(first.json.load_duration).toBeGreaterThanOrEqual(30_000_000);
    const second = await postJson(`${server.url}/api/generate`, { model: 'a', prompt: 'y', stream: false, keep_alive: -1 });
    expect(second.json.load_duration).toBeLessThan(1_000_000);
    const ps = (await getJson(`${server.url}/api/ps`)).json.models;
    expect(ps).toHaveLength(1);
    expect(ps[0]).toMatchObject({ name: 'a', context_length: 4096 });
    expect(ps[0].size_vram).toBe(ps[0].size);
    expect(ps[0].expires_at.startsWith('2318')).toBe(true);
    await postJson(`${server.url}/api/generate`, { model: 'a', prompt: 'z', stream: false, keep_alive: 0 });
    expect((await getJson(`${server.url}/api/ps`)).json.models).toEqual([]);
    expect(server.stats().keepAlives).toEqual(['10m', '-1', '0']);
  });

  it('answers 404 in Ollama\'s shape natively and OpenAI\'s shape on /v1, and accepts name:latest', async () => {
    server = await startSimServer({ flavour: 'ollama', models: ['phi'] });
    const missing = await postJson(`${server.url}/api/chat`, chat('hi', { model: 'nope', stream: false }));
    expect(missing).toMatchObject({ status: 404, json: { error: 'model "nope" not found, try pulling it first' } });
    const openAi = await postJson(`${server.url}/v1/chat/completions`, chat('hi', { model: 'nope' }));
    expect(openAi.status).toBe(404);
    expect(openAi.json.error.code).toBe('model_not_found');
    const latest = await postJson(`${server.url}/api/generate`, { model: 'phi:latest', prompt: 'p', stream: false });
    expect(latest.json.model).toBe('phi');
    const v1 = await postJson(`${server.url}/v1/completions`, { model: 'phi', prompt: 'q' });
    expect(v1.json.choices[0].text).toBe(simAnswer('q'));
    const malformed = await postJson(`${server.url}/api/generate`, 'not json');
    expect(malformed.status).toBe(400);
    expect(typeof malformed.json.error).toBe('string');
  });
});
