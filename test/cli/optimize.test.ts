import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { optimizeCommand } from '../../src/cli/commands/optimize.js';
import { settingDefault } from '../../src/app/settings/settings-table.js';
import { advise } from '../../src/hardware/advise.js';
import { countPhysicalCores } from '../../src/hardware/physical-cores.js';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { startSimServer } from '../sim/sim-server.js';
import { fixturePath } from '../hardware/fixtures.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';

const root = mkdtempSync(join(tmpdir(), 'batch-optimize-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function makeIo(home: string): { io: CliIo; stdout: () => string; stderr: () => string } {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  err.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const io: CliIo = {
    stdout: out,
    stderr: err,
    stdin: new PassThrough(),
    env: { BATCH_HOME: home },
    cwd: root,
    isTTY: false,
    softStop: new AbortController().signal,
    hardStop: new AbortController().signal,
  };
  return { io, stdout: () => stdout, stderr: () => stderr };
}

describe('optimizeCommand', () => {
  it('prints the plan for a --hardware profile as JSON, and never saves a what-if as this machine\'s advice', async () => {
    const home = join(root, 'home-json');
    const { io, stdout, stderr } = makeIo(home);
    expect(await optimizeCommand({ hardware: fixturePath('cpu-8c-32g.json'), contextSize: 4096, json: true }, io)).toBe(0);
    const output = JSON.parse(stdout()) as { hardware: { cpu: { physicalCores: number } }; models: unknown[]; plan: { workers: number; maxModels: number; slots: number; commands: { batchRun: string } } };
    expect(output.hardware.cpu.physicalCores).toBe(8);
    expect(output.models).toEqual([]);
    // Same numbers as advise() on this fixture (see advise.test.ts for the arithmetic).
    expect(output.plan).toMatchObject({ workers: 4, maxModels: 3, slots: 4 });
    expect(output.plan.commands.batchRun).toBe('batch run PROMPTS --workers 4 --max-models 3 --slots 4 --ctx 4096 --threads 8');
    expect(existsSync(join(home, 'advice.json'))).toBe(false);
    expect(stderr()).toContain('is not saved: it plans for another machine (what-if)');
  });

  it('profiles --model files, reports prompt models and prints the table', async () => {
    const home = join(root, 'home-model');
    const model = join(root, 'tiny.gguf');
    await writeTinyLlamaGguf(model, { blockCount: 3, headCount: 8, embeddingLength: 128, contextLength: 2048 });
    const prompts = join(root, 'prompts.jsonl');
    writeFileSync(prompts, ['{"prompt": "a", "model": "tiny"}', '{"prompt": "b", "model": "mystery-7b"}', '{"prompt": "c", "model": "tiny"}'].join('\n'));
    const { io, stdout } = makeIo(home);
    expect(await optimizeCommand({ hardware: fixturePath('rtx3090.json'), models: [model], inputs: ['prompts.jsonl'], save: false }, io)).toBe(0);
    const text = stdout();
    expect(text).toContain('tiny: 2 prompt(s), profiled');
    expect(text).toContain('mystery-7b: 1 prompt(s), unknown size');
    expect(text).toMatch(/^tiny\s+GPU 0 \(NVIDIA GeForce RTX 3090\)\s+3\/3\s+16\s+2048\s/m);
    expect(text).toContain(`batch run prompts.jsonl --model ${model} --workers 16`);
    expect(text).toContain('-np 16 -c 32768 -ngl 999 -t 16');

    const json = makeIo(home);
    await optimizeCommand({ hardware: fixturePath('rtx3090.json'), models: [model], inputs: ['prompts.jsonl'], json: true, save: false }, json.io);
    const parsed = JSON.parse(json.stdout()) as { models: Array<Record<string, number>>; promptModels: unknown[] };
    expect(parsed.promptModels).toEqual([
      { name: 'tiny', prompts: 2, profiled: true },
      { name: 'mystery-7b', prompts: 1, profiled: false },
    ]);
    const models = parsed.models;
    expect(models[0]).toMatchObject({ layers: 3, heads: 8, kvHeads: 8, headDim: 16, trainedContext: 2048 });
    expect(() => readFileSync(join(home, 'advice.json'))).toThrow(/ENOENT/);
  });

  it('measures a --server and writes the chart', async () => {
    const sim = await startSimServer({ flavour: 'llama-server', slots: 2, serviceMs: 30, completionTokens: 8, models: ['m1', 'm2'] });
    try {
      const home = join(root, 'home-measure');
      const chart = join(root, 'curve.svg');
      const prompts = join(root, 'measure-prompts.jsonl');
      writeFileSync(prompts, ['{"prompt": "alpha", "model": "m1"}', '{"prompt": "gamma", "model": "m2"}', '{"prompt": "beta", "model": "m1"}'].join('\n'));
      const { io, stdout } = makeIo(home);
      // This machine (no --hardware), so the measured advice is saved for it.
      expect(await optimizeCommand({ measure: true, measureServer: sim.url, inputs: [prompts], maxConcurrency: 4, chart }, io)).toBe(0);
      // Which level wins depends on this machine's load (the knee itself is tested on a virtual
      // clock in test/hardware/measure-concurrency.test.ts); what is done with it does not.
      const recommended = Number(/Recommended concurrency: (\d+) \(--workers \1\)/.exec(stdout())?.[1]);
      expect([1, 2, 4]).toContain(recommended);
      // Only the measured plan: this machine's estimate (an assumed model on the CPU, its own
      // --workers) would contradict the measurement of a server batch does not start.
      expect(stdout()).toContain(`Command:\n  batch run ${prompts} --server ${sim.url} --workers ${recommended}\n`);
      expect(stdout()).not.toMatch(/^(CPU|Memory) |--max-models|assum/m);
      // The prompts of the most used model (m1) are sent round-robin, max(4 × level, 16) per level:
      // levels 1, 2, 4 (or fewer when it stops early) → 16 each, 8 of alpha and 8 of beta.
      const stats = sim.stats();
      expect(Object.keys(stats.models)).toEqual(['m1']);
      expect(Object.keys(stats.byPrompt).sort()).toEqual(['alpha', 'beta']);
      expect(stats.byPrompt['alpha']).toBe(stats.byPrompt['beta']);
      expect(stats.requests % 16).toBe(0);
      expect(readFileSync(chart, 'utf8')).toMatch(/^<svg/);
      // The measured concurrency replaces the estimate in the saved advice.
      expect(JSON.parse(readFileSync(join(home, 'advice.json'), 'utf8'))).toMatchObject({ workers: recommended });
    } finally {
      await sim.close();
    }
  });

  it('measures a managed server for --model when no --server is given, then stops it', async () => {
    const home = join(root, 'home-managed');
    const model = join(root, 'managed-tiny.gguf');
    await writeTinyLlamaGguf(model, { contextLength: 256 });
    const { io, stdout, stderr } = makeIo(home);
    // Runs the embedded server from dist/ (as the other managed-server tests do: build first), planned
    // for this machine: a what-if plan's threads would not fit the cores it runs on.
    expect(await optimizeCommand({ models: [model], measure: true, maxConcurrency: 2, requestsPerLevel: 4, json: true, save: false }, io)).toBe(0);
    const { curve, plan } = JSON.parse(stdout()) as { curve: { url: string; levels: Array<{ concurrency: number; requests: number }>; recommended: number }; plan: { slots: number; contextSize: number; threads: number } };
    // ctx = min(2048, trained 256); the server starts with the plan's slots and threads.
    expect(plan.contextSize).toBe(256);
    expect(stderr()).toContain(`${plan.threads} thread(s) for ${model} with ${plan.slots} slot(s) × 256 tokens`);
    expect(curve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(curve.levels.map((level) => [level.concurrency, level.requests])).toEqual([
      [1, 4],
      [2, 4],
    ]);
    expect([1, 2]).toContain(curve.recommended);
    expect(stderr()).toContain('starting embedded llama.cpp server');
    // The server was stopped: its port no longer answers.
    await expect(fetch(`${curve.url}/health`)).rejects.toThrow();
  }, 120_000);

  it('refuses --measure with nothing to measure, and a bad --hardware file', async () => {
    const { io } = makeIo(join(root, 'home-bad'));
    await expect(optimizeCommand({ measure: true }, io)).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('pass --server URL (a running server) or --model path.gguf'),
    });
    // A managed measurement runs here, so it cannot be shaped for another machine.
    await expect(optimizeCommand({ hardware: fixturePath('cpu-8c-32g.json'), models: ['m.gguf'], measure: true }, io)).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('--measure starts a server on this machine, which the plan for another machine does not fit'),
    });
    const bad = join(root, 'bad-profile.json');
    writeFileSync(bad, JSON.stringify({ cpu: { physicalCores: 4 }, memory: { totalBytes: 1 }, gpus: [{ vramTotalBytes: '24GB' }] }));
    await expect(optimizeCommand({ hardware: bad }, io)).rejects.toThrow(`${bad}: expected \`gpus[0].vramTotalBytes\` to be a number, got "24GB"`);
  });
});

describe('batch optimize, as a user types it', () => {
  it("prints this machine's plan as JSON, GPU or not, and saves it for batch run", async () => {
    const home = join(root, 'home');
    const result = await runCliInProcess(['optimize', '--json'], { env: { BATCH_HOME: home } });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.hardware.cpu.physicalCores).toBe(countPhysicalCores());
    // The plan is advise()'s for the hardware it reports (test/hardware checks advise on both kinds of machine).
    expect(report.plan).toEqual(JSON.parse(JSON.stringify(advise(report.hardware, [], { contextSize: settingDefault('optimize', 'contextSize') }))));
    const onGpu = report.hardware.gpus.length > 0;
    expect(report.plan.models.map((m: { pool: string }) => m.pool)).toEqual([onGpu ? 'gpu' : 'ram']);
    const saved = JSON.parse(readFileSync(join(home, 'advice.json'), 'utf8'));
    expect(saved).toMatchObject({ workers: report.plan.workers, slots: report.plan.slots, threads: report.plan.threads, maxModels: report.plan.maxModels, contextSize: report.plan.contextSize });
  });

  it("reports a model's true layer and head counts from its GGUF header", async () => {
    const model = join(root, 'five-layers.gguf');
    await writeTinyLlamaGguf(model, { blockCount: 5, headCount: 8, headCountKv: 2, embeddingLength: 128 });
    const result = await runCliInProcess(['optimize', '--model', model, '--no-save', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const [profile] = JSON.parse(result.stdout).models;
    expect(profile).toMatchObject({ layers: 5, heads: 8, kvHeads: 2, headDim: 16 });
    const text = await runCliInProcess(['optimize', '--model', model, '--no-save']);
    expect(text.stdout).toMatch(/five-layers\s+\S+\s+\S+ GiB\s+5\s+8\s+2\s+16/);
  });

  it('--measure against a server with 8 slots: levels 1, 2, 4, … with exactly that many in flight, a chart, JSON', async () => {
    const sim = await startSimServer({ slots: 8, serviceMs: 40 });
    try {
      const chart = join(root, 'curve.svg');
      const result = await runCliInProcess(['optimize', '--measure', '--server', sim.url, '--max-concurrency', '32', '--chart', chart, '--no-save', '--json']);
      expect(result.code, result.stderr).toBe(0);
      // Where the knee lands depends on this machine's load (the knee itself is tested on a virtual
      // clock in test/hardware/measure-concurrency.test.ts); the measurement's shape does not.
      const { curve } = JSON.parse(result.stdout) as { curve: { recommended: number; levels: Array<{ concurrency: number }> } };
      const levels = curve.levels.map((level) => level.concurrency);
      expect(levels).toEqual([1, 2, 4, 8, 16, 32].slice(0, levels.length));
      expect(levels).toContain(curve.recommended);
      expect(sim.stats().maxConcurrent).toBe(levels.at(-1));
      expect(sim.stats().maxInService).toBe(Math.min(8, levels.at(-1)!));
      expect(readFileSync(chart, 'utf8')).toMatch(/^<svg/);
    } finally {
      await sim.close();
    }
  });
});
