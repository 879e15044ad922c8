import { writePrompts } from '../helpers/write-prompts.js';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { isAlive, parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess, startCliInProcess } from '../helpers/run-cli-in-process.js';
import { pollUntil } from '../helpers/poll-until.js';
import { pidsMatching, waitForNoProcesses } from '../helpers/processes.js';
import { writeSimLlamaServer } from '../servers/server-fixtures.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-managed-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Short prompts `m0`, `m1`, … naming the model `model(i)` returns (none: the default). */
function writeModelPrompts(file: string, count: number, model: (i: number) => string | undefined): void {
  writePrompts(file, count, 'm', (i) => ({ max_tokens: 4, ...(model(i) ? { model: model(i) } : {}) }));
}

describe('batch run with managed servers', () => {
  it('runs 60 prompts on the embedded server with a generated model: one load, no server left', async () => {
    const model = path.join(dir, 'tiny.gguf');
    await writeTinyLlamaGguf(model);
    const file = path.join(dir, 'embedded.jsonl');
    writeModelPrompts(file, 60, () => undefined);
    const out = path.join(dir, 'embedded.out.jsonl');
    const result = await runCliInProcess(['run', file, '--model', model, '--slots', '2', '--threads', '1', '--out', out, '--json'], {
      env: { BATCH_HOME: path.join(dir, 'home-embedded') },
    });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.done).toBe(60);
    expect(summary.modelLoads).toEqual([expect.objectContaining({ loads: 1 })]);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(60);
    expect(lines.every((l) => typeof l.response.body.choices[0].message.content === 'string')).toBe(true);
    expect(await waitForNoProcesses(model)).toEqual([]);
  }, 300_000);

  it('loads each of 3 models once with --max-models 1 and interleaved prompts A B C A B C…', async () => {
    const startLog = path.join(dir, 'starts.log');
    const models = ['a', 'b', 'c'].map((name) => path.join(dir, `${name}.gguf`));
    for (const m of models) await writeTinyLlamaGguf(m);
    const file = path.join(dir, 'abc.jsonl');
    writeModelPrompts(file, 90, (i) => ['a', 'b', 'c'][i % 3]);
    const out = path.join(dir, 'abc.out.jsonl');
    const result = await runCliInProcess(
      ['run', file, ...models.flatMap((m) => ['--model', m]), '--max-models', '1', '--llama-server', writeSimLlamaServer(dir, { SIM_START_LOG: startLog }), '--out', out, '--json'],
      { env: { BATCH_HOME: path.join(dir, 'home-abc') } },
    );
    expect(result.code, result.stderr).toBe(0);
    const starts = readFileSync(startLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { model: string; pid: number });
    expect(starts).toHaveLength(3);
    expect(new Set(starts.map((s) => path.basename(s.model)))).toEqual(new Set(['a.gguf', 'b.gguf', 'c.gguf']));
    expect(parseJsonl(readFileSync(out, 'utf8')).every((l) => l.error === null)).toBe(true);
    for (const s of starts) expect(isAlive(s.pid)).toBe(false);
  }, 120_000);

  it('checks every model before any server starts, llama-server too: a malformed GGUF fails its own prompts, the others finish', async () => {
    const good = path.join(dir, 'good.gguf');
    const bad = path.join(dir, 'broken.gguf');
    await writeTinyLlamaGguf(good);
    await writeTinyLlamaGguf(bad, { omitKeys: ['llama.feed_forward_length'] });
    const file = path.join(dir, 'mixed-models.jsonl');
    writeModelPrompts(file, 10, (i) => (i % 2 ? 'broken' : 'good'));
    const out = path.join(dir, 'mixed-models.out.jsonl');
    // The stand-in llama-server loads anything, as a real one would try to (and abort on this file).
    const startLog = path.join(dir, 'bad-model-starts.jsonl');
    const llamaServer = writeSimLlamaServer(dir, { SIM_START_LOG: startLog }, 'llama-server-bad-model');
    const result = await runCliInProcess(['run', file, '--model', good, '--model', bad, '--slots', '1', '--llama-server', llamaServer, '--out', out], {
      env: { BATCH_HOME: path.join(dir, 'home-bad-model') },
    });
    expect(result.code).toBe(4);
    expect(readFileSync(startLog, 'utf8').trim().split('\n').map((line) => path.basename(JSON.parse(line).model))).toEqual(['good.gguf']);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    const failed = lines.filter((l) => l.error !== null);
    expect(failed).toHaveLength(5);
    expect(failed[0]!.error.code).toBe('MODEL_INVALID');
    expect(failed[0]!.error.message).toContain('missing llama.feed_forward_length');
    expect(lines.filter((l) => l.error === null)).toHaveLength(5);
    expect(existsSync(out)).toBe(true);
  }, 120_000);

  it('prompts failed before any request (a malformed GGUF) count in no req/s: 0 sent is 0 req/s', async () => {
    const bad = path.join(dir, 'only-broken.gguf');
    await writeTinyLlamaGguf(bad, { omitKeys: ['llama.feed_forward_length'] });
    const file = path.join(dir, 'only-broken.jsonl');
    writeModelPrompts(file, 4, () => undefined);
    const llamaServer = writeSimLlamaServer(dir, {}, 'llama-server-only-broken');
    const result = await runCliInProcess(['run', file, '--model', bad, '--llama-server', llamaServer, '--json'], {
      env: { BATCH_HOME: path.join(dir, 'home-only-broken') },
    });
    expect(result.code).toBe(4);
    const summary = JSON.parse(result.stdout) as { sent: number; failedThisRun: number; requestsPerSecond: number };
    expect(summary.failedThisRun).toBe(4);
    expect(summary.sent).toBe(0);
    expect(summary.requestsPerSecond).toBe(0);
  }, 120_000);
});

describe('Ctrl-C while a managed server is still loading', () => {
  it('stops the load instead of waiting out --startup-timeout, exits 130, and leaves every prompt pending', async () => {
    const model = path.join(dir, 'loading.gguf');
    await writeTinyLlamaGguf(model);
    // A "server" that never answers: a load that would take the whole ten-minute startup timeout.
    const never = path.join(dir, 'never-ready-server');
    writeFileSync(never, '#!/bin/sh\nexec sleep 600\n');
    chmodSync(never, 0o755);
    const file = path.join(dir, 'loading.jsonl');
    writeModelPrompts(file, 3, () => undefined);
    const env = { BATCH_HOME: path.join(dir, 'home-loading') };
    const run = startCliInProcess(['run', file, '--model', model, '--llama-server', never, '--grace', '1', '--job', 'loading'], { env });
    await run.waitFor('prompt(s) to send');
    await pollUntil(() => pidsMatching('sleep 600').length > 0, 'the server process');
    run.softStop();
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(await waitForNoProcesses('sleep 600')).toEqual([]);
    const status = await runCliInProcess(['status', 'loading', '--json'], { env });
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'interrupted', counts: { total: 3, done: 0, failed: 0, pending: 3, running: 0 } });
  });
});
