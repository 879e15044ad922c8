import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { OllamaBackend } from '../../src/backends/ollama-backend.js';
import { BackendError } from '../../src/errors.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';
import { startRecordingServer, type Handler, type RecordingServer } from './recording-server.js';

let sim: SimServer | undefined;
let server: RecordingServer | undefined;
let backend: OllamaBackend | undefined;
afterEach(async () => {
  await backend?.close();
  await sim?.close();
  await server?.close();
  backend = sim = server = undefined;
});

async function open(handler: Handler): Promise<OllamaBackend> {
  server = await startRecordingServer(handler);
  backend = new OllamaBackend({ url: server.url, stream: true });
  return backend;
}

/** Writes NDJSON, each `write` a separate chunk, as Ollama flushes pieces. */
function ndjson(res: ServerResponse, chunks: readonly string[]): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  for (const chunk of chunks) res.write(chunk);
  res.end();
}

const chat = { endpoint: '/v1/chat/completions' as const, body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, timeoutMs: 5000 };

describe('OllamaBackend with stream: true (NDJSON)', () => {
  it('asks for a stream and answers as without one, with time to first token (the simulated Ollama)', async () => {
    sim = await startSimServer({ flavour: 'ollama', models: ['m'], serviceMs: 40 });
    backend = new OllamaBackend({ url: sim.url, stream: true });
    const streamed = await backend.complete(chat);
    const unstreamed = new OllamaBackend({ url: sim.url });
    const plain = await unstreamed.complete(chat).finally(() => unstreamed.close());
    expect(streamed.timings.ttftMs).toBeGreaterThan(0);
    expect(streamed.timings.ttftMs!).toBeLessThanOrEqual(streamed.timings.latencyMs);
    expect(plain.timings.ttftMs).toBeUndefined();
    expect(streamed.body.choices).toEqual(plain.body.choices);
    expect([streamed.promptTokens, streamed.completionTokens]).toEqual([plain.promptTokens, plain.completionTokens]);
    const generated = await backend.complete({ endpoint: '/v1/completions', body: { model: 'm', prompt: 'hello' }, timeoutMs: 5000 });
    expect(generated.body.choices).toEqual([expect.objectContaining({ text: expect.stringContaining('hello') })]);
  });

  it('joins pieces split mid-character and mid-line, and keeps the statistics of the done line', async () => {
    const done = JSON.stringify({ model: 'm', message: { role: 'assistant', content: '' }, done: true, done_reason: 'length', prompt_eval_count: 3, eval_count: 2 });
    const piece = `${JSON.stringify({ model: 'm', message: { role: 'assistant', content: 'héllo ✓' }, done: false })}\n`;
    const bytes = Buffer.from(piece);
    const cut = bytes.indexOf(Buffer.from('✓')) + 1;
    const b = await open((_, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(bytes.subarray(0, cut));
      res.write(bytes.subarray(cut));
      res.end(`${done}\n`);
    });
    const result = await b.complete(chat);
    expect(server!.requests[0]!.body!.stream).toBe(true);
    expect(result.body.choices).toEqual([{ index: 0, message: { role: 'assistant', content: 'héllo ✓' }, finish_reason: 'length' }]);
    expect([result.promptTokens, result.completionTokens]).toEqual([3, 2]);
  });

  it('an error line fails the request with the server message; a stream that never says done is no answer', async () => {
    const erroring = await open((_, res) => ndjson(res, [`${JSON.stringify({ model: 'm', message: { content: 'a' }, done: false })}\n`, `${JSON.stringify({ error: 'out of memory' })}\n`]));
    const failed = await erroring.complete(chat).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(BackendError);
    expect((failed as BackendError).message).toContain('out of memory');
    await backend!.close();
    await server!.close();
    const cut = await open((_, res) => ndjson(res, [`${JSON.stringify({ model: 'm', message: { content: 'a' }, done: false })}\n`]));
    const shape = await cut.complete(chat).catch((error: unknown) => error);
    expect((shape as BackendError).code).toBe('ANSWER_INVALID_SHAPE');
  });
});
