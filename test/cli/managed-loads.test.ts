import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { writeSimLlamaServer } from '../servers/server-fixtures.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-managed-loads-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a managed model whose prompts partly fail', () => {
  it.each([
    ['prompts that name it', 'm1'],
    ['prompts that name no model', undefined],
  ])('is one model with one load in the summary and the per-model table (%s)', async (_, named) => {
    const model = path.join(dir, 'm1.gguf');
    await writeTinyLlamaGguf(model);
    const file = path.join(dir, `p-${named ?? 'none'}.jsonl`);
    writePrompts(file, 30, 'q', () => ({ max_tokens: 4, ...(named === undefined ? {} : { model: named }) }));
    const result = await runCliInProcess(
      ['run', file, '--model', model, '--retries', '0', '--llama-server', writeSimLlamaServer(dir, { SIM_ERROR500_RATE: '0.3' }), '--out', path.join(dir, `o-${named ?? 'none'}.jsonl`), '--json'],
      { env: { BATCH_HOME: path.join(dir, `home-${named ?? 'none'}`) } },
    );
    // Some prompts failed (exit 4), some were answered.
    expect(result.code, result.stderr).toBe(4);
    const summary = JSON.parse(result.stdout);
    expect(summary.failed).toBeGreaterThan(0);
    expect(summary.done).toBeGreaterThan(0);
    expect(summary.modelLoads).toEqual([expect.objectContaining({ loads: 1 })]);
    expect(summary.insights.loads.loads).toBe(1);
    expect(summary.insights.perModel).toHaveLength(1);
    expect(summary.insights.perModel[0]).toMatchObject({ requests: 30, failed: summary.failed });
  }, 60_000);
});
