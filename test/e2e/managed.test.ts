import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { isAlive, parseJsonl, runCli, startCli } from '../helpers/run-cli.js';
import { pidsMatching, waitForNoProcesses } from '../helpers/processes.js';
import { repoRoot } from '../helpers/sim-process.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-e2e-managed-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writePrompts(file: string, count: number, model: (i: number) => string | undefined): void {
  writeFileSync(file, Array.from({ length: count }, (_, i) => JSON.stringify({ id: `m${i}`, prompt: `managed prompt ${i}`, max_tokens: 4, ...(model(i) ? { model: model(i) } : {}) })).join('\n') + '\n');
}

describe('managed servers', () => {
  it('runs 200 prompts on the embedded server with a generated model: one load, no server left', async () => {
    const model = path.join(dir, 'tiny.gguf');
    await writeTinyLlamaGguf(model);
    const file = path.join(dir, 'embedded.jsonl');
    writePrompts(file, 200, () => undefined);
    const out = path.join(dir, 'embedded.out.jsonl');
    const result = await runCli(['run', file, '--model', model, '--slots', '2', '--threads', '1', '--out', out, '--json'], {
      env: { BATCH_HOME: path.join(dir, 'home-embedded') },
      timeoutMs: 240_000,
    });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.done).toBe(200);
    expect(summary.modelLoads).toEqual([expect.objectContaining({ loads: 1 })]);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(200);
    expect(lines.every((l) => typeof l.response.body.choices[0].message.content === 'string')).toBe(true);
    expect(await waitForNoProcesses(model)).toEqual([]);
  }, 300_000);

  it('leaves no server behind when the CLI is killed with SIGKILL', async () => {
    const model = path.join(dir, 'kill.gguf');
    await writeTinyLlamaGguf(model);
    const file = path.join(dir, 'kill.jsonl');
    writePrompts(file, 200, () => undefined);
    const run = startCli(['run', file, '--model', model, '--slots', '1', '--threads', '1'], { env: { BATCH_HOME: path.join(dir, 'home-kill') } });
    for (let i = 0; i < 600 && pidsMatching(model).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(pidsMatching(model).length).toBeGreaterThan(0);
    run.child.kill('SIGKILL');
    await run.done;
    expect(await waitForNoProcesses(model)).toEqual([]);
  }, 120_000);

  it('Ctrl-C stops the managed servers too: exit 130, no server left, and resume finishes', async () => {
    const model = path.join(dir, 'ctrlc.gguf');
    await writeTinyLlamaGguf(model);
    const file = path.join(dir, 'ctrlc.jsonl');
    writePrompts(file, 40, () => undefined);
    const env = { BATCH_HOME: path.join(dir, 'home-ctrlc'), SIM_SERVICE_MS: '200' };
    const llamaServer = path.join(repoRoot, 'test/sim/bin/llama-server');
    const run = startCli(['run', file, '--model', model, '--llama-server', llamaServer, '--slots', '2', '--grace', '1', '--job', 'managed-ctrlc'], { env });
    await run.waitFor('prompt(s) to send');
    for (let i = 0; i < 600 && pidsMatching(model).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(result.stdout).toContain('batch resume managed-ctrlc');
    expect(await waitForNoProcesses(model)).toEqual([]);
    const resumed = await runCli(['resume', 'managed-ctrlc', '--json'], { env: { ...env, SIM_SERVICE_MS: '0' } });
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout).done).toBe(40);
    expect(await waitForNoProcesses(model)).toEqual([]);
  }, 120_000);

  it('remembers relative --model, --out and input paths absolute, so resume works from another folder', async () => {
    await writeTinyLlamaGguf(path.join(dir, 'relative.gguf'));
    writePrompts(path.join(dir, 'relative.jsonl'), 6, () => undefined);
    const env = { BATCH_HOME: path.join(dir, 'home-relative'), SIM_SERVICE_MS: '300' };
    const llamaServer = path.join(repoRoot, 'test/sim/bin/llama-server');
    const run = startCli(['run', 'relative.jsonl', '--model', 'relative.gguf', '--out', 'relative.out.jsonl', '--llama-server', llamaServer, '--slots', '1', '--grace', '0', '--job', 'relative'], { cwd: dir, env });
    await run.waitFor('prompt(s) to send');
    run.child.kill('SIGINT');
    expect((await run.done).code).toBe(130);
    const resumed = await runCli(['resume', 'relative', '--json'], { cwd: os.tmpdir(), env: { ...env, SIM_SERVICE_MS: '0' } });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(parseJsonl(readFileSync(path.join(dir, 'relative.out.jsonl'), 'utf8'))).toHaveLength(6);
  }, 120_000);

  it('loads each of 3 models once with --max-models 1 and interleaved prompts A B C A B C…', async () => {
    const startLog = path.join(dir, 'starts.log');
    const models = ['a', 'b', 'c'].map((name) => path.join(dir, `${name}.gguf`));
    for (const m of models) await writeTinyLlamaGguf(m);
    const file = path.join(dir, 'abc.jsonl');
    writePrompts(file, 90, (i) => ['a', 'b', 'c'][i % 3]);
    const out = path.join(dir, 'abc.out.jsonl');
    const result = await runCli(
      ['run', file, ...models.flatMap((m) => ['--model', m]), '--max-models', '1', '--llama-server', path.join(repoRoot, 'test/sim/bin/llama-server'), '--out', out, '--json'],
      { env: { BATCH_HOME: path.join(dir, 'home-abc'), SIM_START_LOG: startLog } },
    );
    expect(result.code, result.stderr).toBe(0);
    const starts = readFileSync(startLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { model: string; pid: number });
    expect(starts).toHaveLength(3);
    expect(new Set(starts.map((s) => path.basename(s.model)))).toEqual(new Set(['a.gguf', 'b.gguf', 'c.gguf']));
    expect(parseJsonl(readFileSync(out, 'utf8')).every((l) => l.error === null)).toBe(true);
    for (const s of starts) expect(isAlive(s.pid)).toBe(false);
  }, 120_000);

  it('reports a malformed GGUF clearly and still finishes the other models\' prompts', async () => {
    const good = path.join(dir, 'good.gguf');
    const bad = path.join(dir, 'broken.gguf');
    await writeTinyLlamaGguf(good);
    await writeTinyLlamaGguf(bad, { omitKeys: ['llama.feed_forward_length'] });
    const file = path.join(dir, 'mixed-models.jsonl');
    writePrompts(file, 10, (i) => (i % 2 ? 'broken' : 'good'));
    const out = path.join(dir, 'mixed-models.out.jsonl');
    const result = await runCli(['run', file, '--model', good, '--model', bad, '--slots', '1', '--threads', '1', '--out', out], {
      env: { BATCH_HOME: path.join(dir, 'home-bad-model') },
    });
    expect(result.code).toBe(4);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    const failed = lines.filter((l) => l.error !== null);
    expect(failed).toHaveLength(5);
    expect(failed[0]!.error.code).toBe('MODEL_INVALID');
    expect(failed[0]!.error.message).toContain('missing llama.feed_forward_length');
    expect(lines.filter((l) => l.error === null)).toHaveLength(5);
    expect(existsSync(out)).toBe(true);
  }, 120_000);
});
