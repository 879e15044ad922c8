import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../src/backends/open-backend.js';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { ManagedServer } from '../../src/servers/managed-server.js';
import { requestLocal } from '../../src/servers/request-local.js';
import { pidsMatching, waitForNoProcesses } from '../helpers/processes.js';
import { NO_LLAMA_SERVER, realLlamaServer } from '../helpers/real-llama-server.js';
import { parseJsonl, startCliProcess } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';

// A simulated server proves our logic; only the real binary proves we speak its language.
// One thread per server: beside the other test workers, llama.cpp's threads would spin-wait on
// each other for cores they do not get (BENCHMARKS.md, "Under load").
const binary = realLlamaServer();
if (binary === undefined) console.warn(NO_LLAMA_SERVER);

let dir: string;
let model: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-real-llama-server-'));
  model = path.join(dir, 'tiny.gguf');
  await writeTinyLlamaGguf(model, { contextLength: 2048 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function managed(modelPath: string, extra: Partial<ConstructorParameters<typeof ManagedServer>[0]> = {}): ManagedServer {
  return new ManagedServer({ launch: { kind: 'llama-server', binary: binary!, threads: 1 }, modelPath, logDir: path.join(dir, 'logs'), slots: 4, contextSize: 256, ...extra });
}

describe.skipIf(binary === undefined)('the real llama-server', () => {
  it('is ready only once loaded: before that it refuses connections or answers 503 "Loading model", never anything else', async () => {
    const big = path.join(dir, 'big.gguf');
    // ~85 MB: a load that takes a moment, so /health is polled while it runs.
    await writeTinyLlamaGguf(big, { embeddingLength: 512, blockCount: 8, feedForwardLength: 1024, headCount: 8, contextLength: 2048 });
    const server = managed(big);
    const starting = server.start();
    const seen = new Set<string>();
    let done = false;
    void starting.finally(() => (done = true));
    while (!done) {
      if (server.url !== undefined) {
        const answer = await requestLocal(`${server.url}/health`, { timeoutMs: 1000 }).then(
          (res) => `${res.statusCode} ${res.statusCode === 503 ? JSON.parse(res.body).error.message : ''}`.trim(),
          () => 'refused',
        );
        seen.add(answer);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    try {
      await starting;
      expect([...seen].filter((answer) => !['refused', '503 Loading model', '200'].includes(answer))).toEqual([]);
      expect((await requestLocal(`${server.url}/health`, { timeoutMs: 1000 })).statusCode).toBe(200);
      expect(server.loadMs).toBeGreaterThan(0);
    } finally {
      await server.stop(2000);
    }
  });

  it("README's first command answers every example with llama-server on PATH (the demo model's text is valid UTF-8)", async () => {
    const result = await runCliInProcess(['run', 'prompts-examples', '--threads', '1', '--json', '-q'], {
      env: { BATCH_HOME: path.join(dir, 'home-readme'), BATCH_MODELS_DIR: path.join(dir, 'models'), PATH: `${path.dirname(binary!)}:${process.env.PATH ?? ''}` },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ total: 21, done: 21, failed: 0 });
  });

  it('admits only batch: 401 without its key, which no command line shows', async () => {
    const server = managed(model);
    await server.start();
    try {
      expect((await requestLocal(`${server.url}/v1/models`, { timeoutMs: 2000 })).statusCode).toBe(401);
      expect((await requestLocal(`${server.url}/v1/models`, { timeoutMs: 2000, headers: { authorization: `Bearer ${server.apiKey}` } })).statusCode).toBe(200);
      for (const pid of [server.pid!, server.reaperPid!]) expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(server.apiKey);
      // With a key set, llama-server does not warn that any web page may use it.
      expect(readFileSync(server.logPath!, 'utf8')).not.toMatch(/no API key is set/i);
    } finally {
      await server.stop(2000);
    }
  });

  it('is detected by probing, reports its slots and per-slot context, answers with usage and timings, and streams', async () => {
    const server = managed(model, { slots: 4, contextSize: 256 });
    await server.start();
    const backend = await openBackend({ url: server.url!, apiKey: server.apiKey, connections: 4 });
    const streaming = await openBackend({ url: server.url!, type: 'llama-server', apiKey: server.apiKey, connections: 4, stream: true });
    try {
      expect(backend.type).toBe('llama-server');
      const info = await backend.describe();
      expect(info.slots).toBe(4);
      const slots = (await request(`${server.url}/slots`, { headers: { authorization: `Bearer ${server.apiKey}` } }).then((res) => res.body.json())) as Array<{ n_ctx: number }>;
      // -c is the total context split across the -np slots: each slot has the --ctx asked for.
      expect(slots.map((slot) => slot.n_ctx)).toEqual([256, 256, 256, 256]);
      const body = { messages: [{ role: 'user', content: 'Say something.' }], max_tokens: 8, temperature: 0 };
      const answer = await backend.complete({ endpoint: '/v1/chat/completions', body, timeoutMs: 30_000 });
      expect(answer.statusCode).toBe(200);
      expect(answer.promptTokens).toBeGreaterThan(0);
      expect(answer.completionTokens).toBeGreaterThan(0);
      expect((answer.body as { timings?: { predicted_n?: number } }).timings?.predicted_n).toBe(answer.completionTokens);
      const streamed = await streaming.complete({ endpoint: '/v1/chat/completions', body, timeoutMs: 30_000 });
      expect(streamed.completionTokens).toBe(answer.completionTokens);
      expect(streamed.timings.ttftMs).toBeGreaterThan(0);
      expect(streamed.timings.ttftMs).toBeLessThanOrEqual(streamed.timings.latencyMs);
    } finally {
      await Promise.all([backend.close(), streaming.close()]);
      await server.stop(2000);
    }
  });

  it('two models with --max-models 1: each loaded once whatever the order, every prompt answered, nothing left running', async () => {
    const models = ['alpha', 'beta'].map((name) => path.join(dir, `${name}.gguf`));
    for (const [i, file] of models.entries()) await writeTinyLlamaGguf(file, { seed: i + 1, contextLength: 2048 });
    const input = path.join(dir, 'two-models.jsonl');
    writePrompts(input, 40, 'p', (i) => ({ model: i % 2 ? 'beta' : 'alpha', max_tokens: 4 }));
    const out = path.join(dir, 'two-models.out.jsonl');
    const result = await runCliInProcess(['run', input, ...models.flatMap((m) => ['--model', m]), '--max-models', '1', '--llama-server', binary!, '--threads', '1', '--out', out, '--json', '-q'], {
      env: { BATCH_HOME: path.join(dir, 'home-two') },
    });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { done: number; modelLoads: Array<{ model: string; loads: number }> };
    expect(summary.done).toBe(40);
    expect(summary.modelLoads.map((load) => [load.model, load.loads]).sort()).toEqual([
      ['alpha', 1],
      ['beta', 1],
    ]);
    expect(parseJsonl(readFileSync(out, 'utf8')).every((line) => line.response.status_code === 200)).toBe(true);
    expect(await waitForNoProcesses(dir)).toEqual([]);
  });

  it('a prompt longer than the context fails alone, at once, naming its tokens and the context', async () => {
    const input = path.join(dir, 'long.jsonl');
    writeFileSync(input, [JSON.stringify({ id: 'short', prompt: 'hi', max_tokens: 2 }), JSON.stringify({ id: 'long', prompt: 'many words '.repeat(200), max_tokens: 2 })].join('\n'));
    const out = path.join(dir, 'long.out.jsonl');
    const result = await runCliInProcess(['run', input, '--model', model, '--llama-server', binary!, '--threads', '1', '--slots', '1', '--ctx', '256', '--out', out, '-q'], {
      env: { BATCH_HOME: path.join(dir, 'home-long') },
    });
    expect(result.code).toBe(4);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines.find((line) => line.custom_id === 'short')!.error).toBeNull();
    const long = lines.find((line) => line.custom_id === 'long')!;
    expect(long.error.code).toBe('CONTEXT_EXCEEDED');
    expect(long.error.message).toMatch(/the prompt \(\d{4} tokens\) does not fit the context of a slot \(256 tokens\); raise the context/);
    // Not retried: the same prompt would not fit the next time either.
    expect(result.stdout).toMatch(/0 retries/);
  });

  it('`batch optimize --measure --model` measures it', async () => {
    const result = await runCliInProcess(['optimize', '--measure', '--model', model, '--llama-server', binary!, '--max-concurrency', '2', '--requests-per-level', '2', '--no-save'], {
      env: { BATCH_HOME: path.join(dir, 'home-optimize') },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`starting llama-server (${binary})`);
    expect(result.stdout).toMatch(/Recommended concurrency: \d+/);
    expect(await waitForNoProcesses(dir)).toEqual([]);
  });

  it.each(['SIGINT', 'SIGKILL'] as const)('%s to a running `batch` leaves no llama-server behind', async (signal) => {
    const input = path.join(dir, `signal-${signal}.jsonl`);
    writePrompts(input, 400, 's', () => ({ max_tokens: 32 }));
    const home = path.join(dir, `home-${signal}`);
    const run = startCliProcess(['run', input, '--model', model, '--llama-server', binary!, '--threads', '1', '--slots', '2', '--grace', '1'], { env: { BATCH_HOME: home } });
    await run.waitFor('prompt(s) to send');
    // The server is up once the run has its first answer in the database: wait for the process itself.
    for (let i = 0; i < 400 && pidsMatching(model).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(pidsMatching(model).length).toBeGreaterThan(0);
    run.child.kill(signal);
    const result = await run.done;
    if (signal === 'SIGINT') expect(result.code).toBe(130);
    else expect(result.signal).toBe('SIGKILL');
    expect(await waitForNoProcesses(model)).toEqual([]);
  });
});
