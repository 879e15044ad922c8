import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonl, runCliProcess } from '../helpers/run-cli-process.js';
import { waitForNoProcesses } from '../helpers/processes.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-e2e-smoke-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the built bin, as a user types it', () => {
  it('node bin/batch.js --help lists the commands and exits 0', async () => {
    const result = await runCliProcess(['--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    for (const command of ['run', 'resume', 'jobs', 'status', 'export', 'optimize', 'serve']) expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it("README's first command: batch run prompts-examples answers every example on the embedded default model", async () => {
    const home = path.join(dir, 'home');
    // BATCH_OFFLINE (set by runCliProcess): the tiny generated demo model, no download.
    const result = await runCliProcess(['run', 'prompts-examples', '--json'], { env: { BATCH_HOME: home, BATCH_MODELS_DIR: path.join(dir, 'models') }, timeoutMs: 240_000 });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { done: number; failed: number; total: number; output: string };
    expect(summary.failed).toBe(0);
    expect(summary.done).toBe(summary.total);
    expect(parseJsonl(readFileSync(summary.output, 'utf8'))).toHaveLength(summary.total);
    expect(await waitForNoProcesses(path.join(dir, 'models'))).toEqual([]);
  }, 300_000);
});
