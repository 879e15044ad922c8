import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineIdentity } from '../../src/hardware/machine-identity.js';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import type { DryRunReport } from '../../src/reporting/dry-run-report.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { repoRoot } from '../helpers/sim-process.js';
import { startSimServer } from '../sim/sim-server.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-dry-run-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('batch run --dry-run', () => {
  it('counts only the prompts of its --shard, and refuses a --json-schema the run would refuse (exit 2)', async () => {
    const file = path.join(dir, 'sharded.jsonl');
    writeFileSync(file, Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `s${i}`, prompt: `p ${i}`, max_tokens: 4 })).join('\n'));
    const env = { BATCH_HOME: path.join(dir, 'home-shard') };
    const counts: number[] = [];
    for (const shard of ['1/2', '2/2']) {
      const result = await runCliInProcess(['run', file, '--server', 'http://127.0.0.1:9', '--dry-run', '--shard', shard, '--json'], { env });
      expect(result.code, result.stderr).toBe(0);
      counts.push((JSON.parse(result.stdout) as DryRunReport).prompts);
    }
    expect(counts[0]! + counts[1]!).toBe(40);
    expect(Math.min(...counts)).toBeGreaterThan(0);
    const schema = path.join(dir, 'not-a-schema.json');
    writeFileSync(schema, '{"type": 12}');
    const refused = await runCliInProcess(['run', file, '--server', 'http://127.0.0.1:9', '--dry-run', '--json-schema', schema], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('not a valid JSON Schema');
    expect(existsSync(env.BATCH_HOME)).toBe(false);
  });

  it("counts the example prompts' tokens exactly as the embedded server reports prompt_tokens, and leaves nothing behind", async () => {
    // No --model, offline: the generated demo model, as `npx batch run prompts-examples` uses here.
    const env = { BATCH_HOME: path.join(dir, 'home-examples'), BATCH_MODELS_DIR: path.join(dir, 'models') };
    const examples = path.join(repoRoot, 'prompts-examples');
    const dry = await runCliInProcess(['run', examples, '--dry-run', '--json'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    const report = JSON.parse(dry.stdout) as DryRunReport;
    expect(existsSync(env.BATCH_HOME)).toBe(false);
    expect(report.models).toHaveLength(1);
    expect(report.models[0]).toMatchObject({ model: '(default)', exactTokens: true, prompts: report.prompts });
    expect(report.perPrompt).toHaveLength(report.prompts);
    expect(report.prompts).toBeGreaterThan(10);

    const out = path.join(dir, 'examples.out.jsonl');
    const real = await runCliInProcess(['run', examples, '--threads', '1', '--slots', '2', '--out', out, '--quiet'], { env });
    expect(real.code, real.stderr).toBe(0);
    const reported = new Map(parseJsonl(readFileSync(out, 'utf8')).map((line) => [line.custom_id as string, line.response.body.usage.prompt_tokens as number]));
    expect(reported.size).toBe(report.prompts);
    for (const prompt of report.perPrompt!) expect([prompt.customId, prompt.promptTokens]).toEqual([prompt.customId, reported.get(prompt.customId)]);
    expect(report.models[0]!.promptTokens).toBe([...reported.values()].reduce((a, b) => a + b, 0));
  }, 300_000);

  it('against --server sends nothing: estimates tokens, lists invalid lines and duplicate ids with file:line, exit 2 for duplicates', async () => {
    const sim = await startSimServer();
    try {
      const file = path.join(dir, 'mixed.jsonl');
      writeFileSync(file, [JSON.stringify({ id: 'a', prompt: 'x'.repeat(400), max_tokens: 10 }), '{"id": "b", "prompt": ', JSON.stringify({ id: 'a', messages: [{ role: 'user', content: 'hi' }] }), JSON.stringify({ id: 'c', prompt: 'y', model: 'other', max_tokens: 5 })].join('\n'));
      const env = { BATCH_HOME: path.join(dir, 'home-server') };
      const result = await runCliInProcess(['run', file, '--server', sim.url, '--dry-run'], { env });
      expect(result.code).toBe(2);
      expect(sim.stats().requests).toBe(0);
      expect(existsSync(env.BATCH_HOME)).toBe(false);
      expect(result.stdout).toContain('prompts     3 to send, 1 invalid, 1 duplicate custom_id(s)');
      expect(result.stdout).toMatch(new RegExp(`invalid   ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: expected a JSON object, got malformed JSON`));
      expect(result.stdout).toContain(`duplicate "a" at ${file}:3 (first at ${file}:1)`);
      expect(result.stdout).toMatch(/model \(default\)\n {2}prompts {8}2\n {2}prompt tokens {2}\d+ \(estimated/);
      expect(result.stdout).toContain('model other');
      expect(result.stdout).toContain('max_tokens     10 (+ 1 prompt(s) without max_tokens');
      expect(result.stdout).toContain('context        unknown');
    } finally {
      await sim.close();
    }
  });

  it('with a --servers file: counts for the fleet, contacts none of it, never the local demo model', async () => {
    const sim = await startSimServer({ models: ['sim'] });
    try {
      const file = path.join(dir, 'fleet.jsonl');
      writeFileSync(file, [JSON.stringify({ id: 'f1', prompt: 'x'.repeat(40), model: 'sim', max_tokens: 8 }), JSON.stringify({ id: 'f2', prompt: 'y', model: 'sim' })].join('\n'));
      const fleet = path.join(dir, 'fleet.json');
      writeFileSync(fleet, JSON.stringify([{ url: sim.url, type: 'llama-server', models: ['sim'] }]));
      const env = { BATCH_HOME: path.join(dir, 'home-fleet'), BATCH_MODELS_DIR: path.join(dir, 'models-fleet') };
      const result = await runCliInProcess(['run', file, '--servers', fleet, '--dry-run', '--json'], { env });
      expect(result.code, result.stderr).toBe(0);
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/demo|\.gguf|--model/);
      const report = JSON.parse(result.stdout) as DryRunReport;
      expect(report.models).toEqual([expect.objectContaining({ model: 'sim', prompts: 2, exactTokens: false, maxTokens: 8, withoutMaxTokens: 1 })]);
      expect(report.models[0]!.problem).toBeUndefined();
      expect(report.notes.join('\n')).toContain('token counts are estimates');
      expect(sim.stats().requests).toBe(0);
      expect(existsSync(env.BATCH_HOME)).toBe(false);
      // A servers file the run would refuse is refused here too.
      writeFileSync(fleet, '[{"url": ');
      const malformed = await runCliInProcess(['run', file, '--servers', fleet, '--dry-run'], { env });
      expect(malformed.code).toBe(2);
      expect(malformed.stderr).toContain(`--servers ${fleet}: not valid JSON`);
    } finally {
      await sim.close();
    }
  });

  it('over a template: the rows that do not fit the context, and the duration from the throughput optimize measured', async () => {
    const model = path.join(dir, 'tiny.gguf');
    await writeTinyLlamaGguf(model);
    const home = path.join(dir, 'home-template');
    mkdirSync(home, { recursive: true });
    const advice = { workers: 2, maxModels: 1, slots: 2, contextSize: 512, threads: 1, savedAt: new Date().toISOString(), hardwareFingerprint: 'test', machine: machineIdentity(), measured: { model, completionTokensPerSecond: 50, concurrency: 2 } };
    writeFileSync(path.join(home, 'advice.json'), JSON.stringify(advice));
    const template = path.join(dir, 'fit.md');
    writeFileSync(template, '---\nmax_tokens: 100\n---\nSummarise: {{text}}\n');
    const data = path.join(dir, 'fit.csv');
    writeFileSync(data, `id,text\nshort,hello\nlong,"${'word '.repeat(200)}"\n`);
    const result = await runCliInProcess(['run', '--template', template, '--data', data, '--id-column', 'id', '--model', model, '--dry-run', '--ctx', '128'], { env: { BATCH_HOME: home } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('prompts     2 to send, 0 invalid, 0 duplicate custom_id(s)');
    expect(result.stdout).toContain("counted with the model's tokenizer and chat template");
    expect(result.stdout).toContain('max_tokens     200\n');
    expect(result.stdout).toContain('duration       at most 4.0s of generation (max_tokens at 50.0 tokens/s');
    expect(result.stdout).toMatch(new RegExp(`context {8}2 prompt\\(s\\) do not fit 128 tokens per slot[^\\n]*\\n {4}short \\(${data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2\\): \\d+ \\+ 100 tokens\\n {4}long`));
    expect(readFileSync(path.join(home, 'advice.json'), 'utf8')).toBe(JSON.stringify(advice));
    expect(existsSync(path.join(home, 'checkpoints'))).toBe(false);
  });
});
