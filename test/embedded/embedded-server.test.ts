import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGgufInfo } from '../../src/models/gguf-reader.js';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { spawnEmbedded, stopEmbedded, type EmbeddedProcess } from './embedded-process.js';

let dir: string;
let modelPath: string;
let server: EmbeddedProcess | undefined;
let url: string;

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const response = await request(`${url}${path}`, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, json, text };
}

beforeAll(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'batch-embedded-'));
  modelPath = join(dir, 'tiny.gguf');
  await writeTinyLlamaGguf(modelPath);
  server = spawnEmbedded(['--model', modelPath, '--port', '0', '--parallel', '2', '--ctx', '512']);
  const listening = await server.nextEvent();
  expect(listening).toMatchObject({ event: 'listening', pid: server.child.pid });
  url = String(listening['url']);
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  // Poll like a client would: 503 while loading, then 200 (bounded).
  for (let attempt = 0; ; attempt++) {
    const { status, json } = await call('GET', '/health');
    if (status === 200) {
      expect(json).toEqual({ status: 'ok' });
      break;
    }
    expect(status).toBe(503);
    expect(json).toEqual({ error: { code: 503, message: 'Loading model', type: 'unavailable_error' } });
    if (attempt >= 600) throw new Error(`the model did not load; stderr: ${server.stderr()}`);
    await new Promise((done) => setTimeout(done, 50));
  }
  expect(await server.nextEvent()).toMatchObject({ event: 'ready', slots: 2, backend: 'cpu' });
});

afterAll(async () => {
  await stopEmbedded(server);
  await rm(dir, { recursive: true, force: true });
});

describe('embedded server over HTTP', () => {
  it('describes itself like llama-server', async () => {
    const props = await call('GET', '/props');
    expect(props.status).toBe(200);
    expect(props.json).toMatchObject({ total_slots: 2, default_generation_settings: { n_ctx: 512 }, model_path: modelPath });
    expect(props.json.build_info).toContain('node-llama-cpp');
    const slots = await call('GET', '/slots');
    expect(slots.json).toEqual([
      { id: 0, n_ctx: 512, is_processing: false },
      { id: 1, n_ctx: 512, is_processing: false },
    ]);
    const info = await readGgufInfo(modelPath);
    const models = await call('GET', '/v1/models');
    expect(models.json.data).toHaveLength(1);
    expect(models.json.data[0]).toMatchObject({ id: 'tiny.gguf', meta: { n_ctx_train: 512, n_params: info.parameterCount, size: info.weightBytes } });
  });

  it('answers a chat completion with usage and timings', async () => {
    const { status, json } = await call('POST', '/v1/chat/completions', {
      model: 'tiny.gguf',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello.' }],
      max_tokens: 8,
      seed: 1,
    });
    expect(status).toBe(200);
    expect(json).toMatchObject({ object: 'chat.completion', model: 'tiny.gguf', choices: [{ index: 0, message: { role: 'assistant' } }] });
    const choice = json.choices[0];
    expect(choice.message.content.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(choice.finish_reason);
    expect(json.usage.prompt_tokens).toBeGreaterThan(3);
    expect(json.usage.completion_tokens).toBeGreaterThan(0);
    expect(json.usage.completion_tokens).toBeLessThanOrEqual(8);
    expect(json.usage.total_tokens).toBe(json.usage.prompt_tokens + json.usage.completion_tokens);
    expect(json.timings).toMatchObject({ prompt_n: json.usage.prompt_tokens, predicted_n: json.usage.completion_tokens, cache_n: 0 });
    for (const key of ['prompt_ms', 'predicted_ms', 'prompt_per_second', 'predicted_per_second']) expect(json.timings[key]).toBeGreaterThanOrEqual(0);
  });

  it('answers a text completion, stopping at max_tokens', async () => {
    const { status, json } = await call('POST', '/v1/completions', { model: 'tiny', prompt: 'hello world', max_tokens: 6, seed: 2, temperature: 0 });
    expect(status).toBe(200);
    expect(json.object).toBe('text_completion');
    expect(json.choices[0].text.length).toBeGreaterThan(0);
    expect(json.usage.completion_tokens).toBeLessThanOrEqual(6);
    if (json.usage.completion_tokens === 6) expect(json.choices[0].finish_reason).toBe('length');
    expect(json.timings.predicted_n).toBe(json.usage.completion_tokens);
  });

  it('starts every request from a clean state: the same seed gives the same answer', async () => {
    const body = { messages: [{ role: 'user', content: 'Count.' }], max_tokens: 12, seed: 42, temperature: 0.9 };
    const first = await call('POST', '/v1/chat/completions', body);
    await call('POST', '/v1/completions', { prompt: 'something else entirely', max_tokens: 5, seed: 3 });
    const second = await call('POST', '/v1/chat/completions', body);
    expect(second.json.choices[0].message.content).toBe(first.json.choices[0].message.content);
  });

  it('streams a chat completion as SSE chunks ending with [DONE]', async () => {
    const { status, text } = await call('POST', '/v1/chat/completions', { messages: [{ role: 'user', content: 'Stream please.' }], max_tokens: 6, seed: 5, stream: true });
    expect(status).toBe(200);
    const events = text.split('\n\n').filter((e) => e !== '').map((e) => e.replace(/^data: /, ''));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const chunk of chunks) expect(chunk.object).toBe('chat.completion.chunk');
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    const last = chunks.at(-1);
    expect(['stop', 'length']).toContain(last.choices[0].finish_reason);
    expect(last.usage.completion_tokens).toBeGreaterThan(0);
    expect(last.timings.predicted_n).toBe(last.usage.completion_tokens);
    const content = chunks.map((c) => c.choices[0].delta.content ?? '').join('');
    expect(content.length).toBeGreaterThan(0);
  });

  it('runs more requests than slots: all complete', async () => {
    const results = await Promise.all(
      [1, 2, 3, 4].map((seed) => call('POST', '/v1/chat/completions', { messages: [{ role: 'user', content: `Request ${seed}` }], max_tokens: 10, seed })),
    );
    for (const result of results) {
      expect(result.status).toBe(200);
      expect(result.json.usage.completion_tokens).toBeGreaterThan(0);
    }
    const slots = await call('GET', '/slots');
    expect(slots.json.map((slot: { is_processing: boolean }) => slot.is_processing)).toEqual([false, false]);
  });

  it('answers bad requests with OpenAI-style errors', async () => {
    const badJson = await call('POST', '/v1/chat/completions', '{"messages": [');
    expect(badJson.status).toBe(400);
    expect(badJson.json.error).toMatchObject({ code: 400, type: 'invalid_request_error' });
    expect(badJson.json.error.message).toContain('not valid JSON');
    const noMessages = await call('POST', '/v1/chat/completions', { max_tokens: 3 });
    expect(noMessages.status).toBe(400);
    expect(noMessages.json.error.message).toContain('expected `messages` to be a non-empty array, got nothing');
    const badRole = await call('POST', '/v1/chat/completions', { messages: [{ role: 'robot', content: 'x' }] });
    expect(badRole.status).toBe(400);
    const wrongModel = await call('POST', '/v1/chat/completions', { model: 'llama-70b', messages: [{ role: 'user', content: 'x' }] });
    expect(wrongModel.status).toBe(404);
    expect(wrongModel.json.error).toMatchObject({ code: 'model_not_found', type: 'not_found_error' });
    expect(wrongModel.json.error.message).toContain('"llama-70b"');
    const tooLong = await call('POST', '/v1/completions', { prompt: 'the '.repeat(600), max_tokens: 2 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.json.error.message).toContain('context of 512 tokens');
    const unknownRoute = await call('GET', '/v2/nothing');
    expect(unknownRoute.status).toBe(404);
  });
});
