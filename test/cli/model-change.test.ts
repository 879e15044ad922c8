import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { writeSimLlamaServer } from '../servers/server-fixtures.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-model-change-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function starts(log: string): number {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).length : 0;
}

describe('resume after the --model file was replaced', () => {
  it('is refused with MODEL_CHANGED (exit 2) naming the model and what changed, and goes on only with --accept-model-change', async () => {
    const model = path.join(dir, 'm1.gguf');
    await writeTinyLlamaGguf(model, { seed: 1 });
    const log = path.join(dir, 'starts.log');
    const file = path.join(dir, 'p.jsonl');
    writePrompts(file, 20, 'c', () => ({ max_tokens: 4 }));
    const env = { BATCH_HOME: path.join(dir, 'home') };
    // Some prompts fail (500s, no retries): the job holds answers and has prompts left to send.
    const server = writeSimLlamaServer(dir, { SIM_START_LOG: log, SIM_ERROR500_RATE: '0.4' });
    const first = await runCliInProcess(['run', file, '--job', 'mc', '--model', model, '--retries', '0', '--llama-server', server], { env });
    expect(first.code, first.stderr).toBe(4);
    expect(starts(log)).toBe(1);

    // Touched only (same bytes): the same model, said so, not refused.
    const later = new Date(statSync(model).mtimeMs + 60_000);
    utimesSync(model, later, later);
    const touched = await runCliInProcess(['resume', 'mc', '--retry-failed', '--retries', '0'], { env });
    expect([0, 4], touched.stderr).toContain(touched.code);
    expect(touched.stderr).toContain(`model ${model} was modified since the job's earlier runs but its size and content are the same: the same model`);
    const startsBefore = starts(log);

    // Another model at the same path: refused before any server starts.
    await writeTinyLlamaGguf(model, { seed: 2 });
    const refused = await runCliInProcess(['resume', 'mc', '--retry-failed', '--retries', '0'], { env });
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`error \\[MODEL_CHANGED\\]: job "mc" was answered by another model at the same path: ${model.replace(/[.]/g, '\\.')} \\((size \\d+ → \\d+ bytes|same size, other content), modified .* → .*\\)`));
    expect(refused.stderr).toContain('--accept-model-change');
    expect(starts(log)).toBe(startsBefore);

    const accepted = await runCliInProcess(['resume', 'mc', '--retry-failed', '--retries', '0', '--accept-model-change'], { env });
    expect([0, 4], accepted.stderr).toContain(accepted.code);
    expect(accepted.stderr).toContain(`model ${model} changed since the job's earlier answers`);
    expect(accepted.stderr).toContain('the job now holds answers of both models');
    expect(starts(log)).toBe(startsBefore + 1);

    // The new file is the job's model now: the next resume is not refused.
    const again = await runCliInProcess(['resume', 'mc', '--retry-failed', '--retries', '0'], { env });
    expect([0, 4], again.stderr).toContain(again.code);
    expect(again.stderr).not.toContain('MODEL_CHANGED');
    // Unchanged since it was recorded: nothing is said about it.
    expect(again.stderr).not.toContain(`model ${model} was modified`);
    expect(again.stderr).not.toContain(`model ${model} changed`);
  }, 120_000);
});
