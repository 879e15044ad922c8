import { writePrompts } from '../helpers/write-prompts.js';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { isAlive, parseJsonl, runCliProcess, startCliProcess } from '../helpers/run-cli-process.js';
import { pidsMatching, waitForNoProcesses } from '../helpers/processes.js';
import { repoRoot } from '../helpers/sim-process.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-e2e-managed-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Short prompts `m0`, `m1`, … naming the model `model(i)` returns (none: the default). */
function writeModelPrompts(file: string, count: number, model: (i: number) => string | undefined): void {
  writePrompts(file, count, 'm', (i) => ({ max_tokens: 4, ...(model(i) ? { model: model(i) } : {}) }));
}

describe('managed servers, where the process matters', () => {
  it('leaves no server behind when the CLI is killed with SIGKILL', async () => {
    const model = path.join(dir, 'kill.gguf');
    await writeTinyLlamaGguf(model);
    const file = path.join(dir, 'kill.jsonl');
    writeModelPrompts(file, 200, () => undefined);
    const run = startCliProcess(['run', file, '--model', model, '--slots', '1', '--threads', '1'], { env: { BATCH_HOME: path.join(dir, 'home-kill') } });
    const servers = (): number[] => pidsMatching(model).filter((pid) => pid !== run.child.pid);
    for (let i = 0; i < 600 && servers().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(servers()).not.toEqual([]);
    run.child.kill('SIGKILL');
    await run.done;
    expect(await waitForNoProcesses(model)).toEqual([]);
  }, 120_000);

  it('Ctrl-C stops the managed servers too: exit 130, no server left, and resume finishes', async () => {
    const model = path.join(dir, 'ctrlc.gguf');
    await writeTinyLlamaGguf(model);
    const file = path.join(dir, 'ctrlc.jsonl');
    writeModelPrompts(file, 40, () => undefined);
    const env = { BATCH_HOME: path.join(dir, 'home-ctrlc'), SIM_SERVICE_MS: '200' };
    const llamaServer = path.join(repoRoot, 'test/sim/bin/llama-server');
    const run = startCliProcess(['run', file, '--model', model, '--llama-server', llamaServer, '--slots', '2', '--grace', '1', '--job', 'managed-ctrlc'], { env });
    await run.waitFor('prompt(s) to send');
    for (let i = 0; i < 600 && pidsMatching(model).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(result.stdout).toContain('batch resume managed-ctrlc');
    expect(await waitForNoProcesses(model)).toEqual([]);
    const resumed = await runCliProcess(['resume', 'managed-ctrlc', '--json'], { env: { ...env, SIM_SERVICE_MS: '0' } });
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout).done).toBe(40);
    expect(await waitForNoProcesses(model)).toEqual([]);
  }, 120_000);
});
