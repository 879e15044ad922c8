import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { startEmbeddedServer } from '../../src/embedded/embedded-server.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'batch-embedded-api-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('validates options once, naming the option and the value', async () => {
  const modelPath = join(dir, 'options.gguf');
  await writeTinyLlamaGguf(modelPath);
  await expect(startEmbeddedServer({ modelPath, slots: 0, contextSize: 0 })).rejects.toThrow('expected `slots` to be a whole number >= 1, got 0');
  await expect(startEmbeddedServer({ modelPath, slots: 1, contextSize: 0, port: 70000 })).rejects.toThrow('expected `port` to be a whole number from 0 to 65535, got 70000');
  await expect(startEmbeddedServer({ modelPath, slots: 1, contextSize: 0, gpu: 'cuda' as never })).rejects.toThrow('expected `gpu` to be "auto" or false, got "cuda"');
  await expect(startEmbeddedServer({ modelPath, slots: 1, contextSize: 0, port: 70000 })).rejects.toBeInstanceOf(UsageError);
});

it('stops running requests on close instead of passing half an answer off as complete', async () => {
  const modelPath = join(dir, 'close.gguf');
  await writeTinyLlamaGguf(modelPath);
  const server = await startEmbeddedServer({ modelPath, slots: 1, threads: 1, gpu: false, contextSize: 512 });
  try {
    const ready = await server.ready;
    expect(ready).toMatchObject({ modelId: 'close.gguf', slots: 1, contextSize: 512, threads: 1, backend: 'cpu' });
    const response = await request(`${server.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ prompt: 'go on', max_tokens: 480, stream: true }),
    });
    expect(response.statusCode).toBe(200);
    const chunks: string[] = [];
    let closing: Promise<void> | undefined;
    for await (const chunk of response.body) {
      chunks.push(String(chunk));
      // The first token arrived: generation is running now.
      closing ??= server.close();
    }
    await closing;
    const events = chunks.join('').split('\n\n').filter((e) => e !== '');
    expect(events.at(-1)).toContain('the server is shutting down');
    expect(chunks.join('')).not.toContain('[DONE]');
  } finally {
    await server.close();
  }
});

it('answers /health with 500 when llama.cpp cannot load a model that passed validation', async () => {
  const modelPath = join(dir, 'unknown-arch.gguf');
  await writeTinyLlamaGguf(modelPath, { omitKeys: ['general.architecture'] });
  const server = await startEmbeddedServer({ modelPath, slots: 1, contextSize: 0, threads: 1, gpu: false });
  try {
    await expect(server.ready).rejects.toThrow();
    const health = await request(`${server.url}/health`);
    expect(health.statusCode).toBe(500);
    const body = (await health.body.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe('server_error');
    expect(body.error.message).toMatch(/^Loading model failed: /);
  } finally {
    await server.close();
  }
});

it("caps a slot's context at the model's trained context, and generated models answer printable text only", async () => {
  const modelPath = join(dir, 'text.gguf');
  await writeTinyLlamaGguf(modelPath, { contextLength: 256 });
  const server = await startEmbeddedServer({ modelPath, slots: 1, threads: 1, gpu: false, contextSize: 2048 });
  try {
    expect(await server.ready).toMatchObject({ contextSize: 256 });
    // Random weights pick any token; a byte token outside printable ASCII would make invalid UTF-8,
    // which llama-server refuses with HTTP 500. Those are control tokens in generated models.
    const response = await request(`${server.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ prompt: 'héllo wörld ✓', max_tokens: 200, temperature: 1.5, seed: 3 }),
    });
    expect(response.statusCode).toBe(200);
    const answer = (await response.body.json()) as { choices: Array<{ text: string }>; usage: { completion_tokens: number } };
    expect(answer.usage.completion_tokens).toBeGreaterThan(0);
    expect(answer.choices[0]!.text).toMatch(/^[\t\n\x20-\x7e▁]*$/);
  } finally {
    await server.close();
  }
});

it('with an API key, answers 401 to every request without it but /health, as llama-server does', async () => {
  const modelPath = join(dir, 'keyed.gguf');
  await writeTinyLlamaGguf(modelPath);
  const server = await startEmbeddedServer({ modelPath, slots: 1, contextSize: 0, threads: 1, gpu: false, apiKey: 'sesame' });
  try {
    await server.ready;
    expect((await request(`${server.url}/health`)).statusCode).toBe(200);
    const refused = await request(`${server.url}/v1/models`);
    expect(refused.statusCode).toBe(401);
    expect(await refused.body.json()).toEqual({ error: { code: 401, message: 'Invalid API Key', type: 'authentication_error' } });
    const wrong = await request(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sesam' }, body: '{"messages":[{"role":"user","content":"hi"}]}' });
    expect(wrong.statusCode).toBe(401);
    await wrong.body.dump();
    const admitted = await request(`${server.url}/v1/models`, { headers: { authorization: 'Bearer sesame' } });
    expect(admitted.statusCode).toBe(200);
    await admitted.body.dump();
    // No CORS grant: a web page in the user's browser cannot read the answers either.
    expect(admitted.headers['access-control-allow-origin']).toBeUndefined();
    // The scheme is case-insensitive (RFC 7235): clients that send `bearer` are let in too.
    const lowercase = await request(`${server.url}/v1/models`, { headers: { authorization: 'bearer sesame' } });
    expect(lowercase.statusCode).toBe(200);
    await lowercase.body.dump();
  } finally {
    await server.close();
  }
});
