import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { writeSimLlamaServer } from '../servers/server-fixtures.js';
import { startSimServer } from '../sim/sim-server.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-managed-settings-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The backend settings of a run reach every kind of server: those `batch` starts, and Ollama. */
describe('batch run: --stream and --stall-timeout reach every kind of server', () => {
  it('--stream records time to first token from an Ollama --server (its NDJSON stream)', async () => {
    const sim = await startSimServer({ flavour: 'ollama', models: ['m'], serviceMs: 20 });
    try {
      const file = path.join(dir, 'ollama.jsonl');
      writePrompts(file, 3, 'o', () => ({ model: 'm', max_tokens: 4 }));
      const result = await runCliInProcess(['run', file, '--server', sim.url, '--stream', '--out', path.join(dir, 'ollama.out.jsonl'), '--json'], { env: { BATCH_HOME: path.join(dir, 'home-ollama') } });
      expect(result.code, result.stderr).toBe(0);
      const summary = JSON.parse(result.stdout);
      expect(summary.done).toBe(3);
      expect(summary.ttftP50Ms).toBeGreaterThan(0);
    } finally {
      await sim.close();
    }
  });

  it('--stream records time to first token from a managed llama-server', async () => {
    const model = path.join(dir, 'stream.gguf');
    await writeTinyLlamaGguf(model);
    const file = path.join(dir, 'stream.jsonl');
    writePrompts(file, 4, 's', () => ({ max_tokens: 4 }));
    const llamaServer = writeSimLlamaServer(dir, { SIM_SERVICE_MS: '20' }, 'llama-server-stream');
    const result = await runCliInProcess(['run', file, '--model', model, '--llama-server', llamaServer, '--slots', '2', '--stream', '--out', path.join(dir, 'stream.out.jsonl'), '--json'], {
      env: { BATCH_HOME: path.join(dir, 'home-stream') },
    });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.done).toBe(4);
    expect(summary.ttftP50Ms).toBeGreaterThan(0);
  }, 60_000);

  it('--stream records time to first token from the embedded server', async () => {
    const model = path.join(dir, 'embedded.gguf');
    await writeTinyLlamaGguf(model);
    const file = path.join(dir, 'embedded.jsonl');
    // Greedy and long enough that the random weights render some text (4 sampled tokens were at
    // times all control tokens, which show nothing, so no first token was ever seen).
    writePrompts(file, 2, 'e', () => ({ max_tokens: 24, temperature: 0, seed: 1 }));
    const result = await runCliInProcess(['run', file, '--model', model, '--slots', '1', '--threads', '1', '--stream', '--out', path.join(dir, 'embedded.out.jsonl'), '--json'], {
      env: { BATCH_HOME: path.join(dir, 'home-embedded') },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('embedded llama.cpp server');
    expect(JSON.parse(result.stdout).ttftP50Ms).toBeGreaterThan(0);
  }, 300_000);

  it('a managed llama-server that stops answering mid-request: the request is aborted as STALLED by --stall-timeout, not left to --timeout', async () => {
    const model = path.join(dir, 'frozen.gguf');
    await writeTinyLlamaGguf(model);
    const file = path.join(dir, 'frozen.jsonl');
    writePrompts(file, 2, 'f', () => ({ max_tokens: 4 }));
    // Ready (its start-up check answered), then every completion takes a slot and never answers: frozen.
    const llamaServer = writeSimLlamaServer(dir, { SIM_HANG_AFTER: '1' }, 'llama-server-frozen');
    const out = path.join(dir, 'frozen.out.jsonl');
    const result = await runCliInProcess(['run', file, '--model', model, '--llama-server', llamaServer, '--slots', '2', '--stall-timeout', '0.3', '--timeout', '30', '--retries', '0', '--out', out], {
      env: { BATCH_HOME: path.join(dir, 'home-frozen') },
    });
    expect(result.code, result.stderr).toBe(4);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(2);
    expect(lines.map((line) => line.error?.code)).toEqual(['STALLED', 'STALLED']);
  }, 60_000);
});
