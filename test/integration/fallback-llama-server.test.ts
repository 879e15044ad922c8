import { mkdtempSync, readFileSync, rmSync, truncateSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { NO_LLAMA_SERVER, realLlamaServer } from '../helpers/real-llama-server.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';

// Only the real binary shows what a corrupt download does to it: our own check of the GGUF header
// passes a file cut short in its tensor data, and llama-server itself fails to load it.
const binary = realLlamaServer();
if (binary === undefined) console.warn(NO_LLAMA_SERVER);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-real-fallback-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(binary === undefined)('--fallback with the real llama-server', () => {
  it('sends the prompts of a model cut short mid-download to its fallback: every prompt answered, each line names who answered', async () => {
    const good = path.join(dir, 'good.gguf');
    const cut = path.join(dir, 'cut.gguf');
    await writeTinyLlamaGguf(good, { contextLength: 2048 });
    await writeTinyLlamaGguf(cut, { contextLength: 2048 });
    truncateSync(cut, Math.floor(statSync(cut).size / 2));
    const file = path.join(dir, 'prompts.jsonl');
    writePrompts(file, 8, 'p', (i) => ({ max_tokens: 4, model: i % 2 === 0 ? 'cut' : 'good' }));
    const out = path.join(dir, 'out.jsonl');
    const result = await runCliInProcess(
      ['run', file, '--model', good, '--model', cut, '--fallback', 'cut=good', '--engine', 'llama-server', '--llama-server', binary!, '--threads', '1', '--slots', '2', '--ctx', '256', '--out', out, '--json'],
      { env: { BATCH_HOME: path.join(dir, 'home') } },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/model cut's server could not start \((SERVER_NOT_READY|MODEL_INVALID|SERVER_CRASHED)\b/);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(8);
    expect(lines.every((l) => l.error === null && typeof l.response.body.choices[0].message.content === 'string')).toBe(true);
    expect(lines.filter((_, i) => i % 2 === 0).every((l) => l.fallback?.from === 'cut' && typeof l.fallback.model === 'string')).toBe(true);
    expect(lines.filter((_, i) => i % 2 === 1).every((l) => l.fallback === undefined)).toBe(true);
    const summary = JSON.parse(result.stdout);
    expect(summary.insights.fallbacks).toEqual([expect.objectContaining({ from: 'cut', count: 4 })]);
  }, 300_000);
});
