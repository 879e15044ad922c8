import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let dir: string;
let sim: SimServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-report-honesty-'));
  sim = await startSimServer({ flavour: 'openai', slots: 8, serviceMs: 1, models: ['sim-model', 'solo'] });
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `count` prompts, each asking for the model `modelOf` names; returns the job's batch home. */
async function runJob(name: string, count: number, modelOf: (i: number) => string): Promise<Record<string, string>> {
  const input = path.join(dir, `${name}.jsonl`);
  writePrompts(input, count, name, (i) => ({ model: modelOf(i) }));
  const env = { BATCH_HOME: path.join(dir, name) };
  await runCliInProcess(['run', input, '--server', sim.url, '--job', name, '--retries', '0', '--sample-every', '0.1', '--quiet'], { env });
  return env;
}

describe('batch report says nothing the data does not hold', () => {
  it('a job whose every prompt failed: no answers-per-second curve, no "served without a load"', async () => {
    // A model the server does not serve: every prompt fails (MODEL_NOT_FOUND).
    const env = await runJob('all-failed', 30, () => 'nope');
    const html = path.join(dir, 'all-failed.html');
    const report = await runCliInProcess(['report', 'all-failed', '--html', html, '--json'], { env });
    expect(report.code, report.stderr).toBe(0);
    const data = JSON.parse(report.stdout) as { stats: { counts: { done: number; failed: number } }; loads: { cacheHitRatio: number | null } };
    expect(data.stats.counts).toMatchObject({ done: 0, failed: 30 });
    expect(data.loads.cacheHitRatio).toBeNull();
    const page = readFileSync(html, 'utf8');
    expect(page).not.toContain('Answers per second');
    expect(page).toContain('no prompt was answered: all 30 finished prompt(s) failed');
    expect(page).not.toMatch(/<b>100%<\/b><span>served without a load/);
    expect(page).toContain('served without a load (no prompt was served)');
    const text = await runCliInProcess(['report', 'all-failed'], { env });
    expect(text.stdout).not.toContain('served without a load');
  });

  it('a small run: no memory growth per 1,000 prompts, and no rate for a model of one request', async () => {
    const env = await runJob('small', 150, (i) => (i === 0 ? 'solo' : 'sim-model'));
    const report = await runCliInProcess(['report', 'small', '--json'], { env });
    expect(report.code, report.stderr).toBe(0);
    const data = JSON.parse(report.stdout) as { memory: { growthPer1000PromptsBytes: number | null; samples: number } | null; perModel: { key: string; requests: number }[] };
    expect(data.memory?.samples).toBeGreaterThanOrEqual(2);
    expect(data.memory?.growthPer1000PromptsBytes).toBeNull();
    expect(data.perModel.find((g) => g.key === 'solo')?.requests).toBe(1);
    const text = await runCliInProcess(['report', 'small'], { env });
    expect(text.stdout).toMatch(/memory +RSS /);
    expect(text.stdout).not.toContain('per 1,000 prompts');
    // The row of "solo": 1 request, 0 failed, then no req/s and no tokens/s.
    expect(text.stdout).toMatch(/^\s*solo\s+1\s+0\s+-\s+-\s/m);
    const html = path.join(dir, 'small.html');
    expect((await runCliInProcess(['report', 'small', '--html', html], { env })).code).toBe(0);
    expect(readFileSync(html, 'utf8')).toContain('<td>solo</td><td class="n">1</td><td class="n">0</td><td class="n">-</td><td class="n">-</td>');
    expect(readFileSync(html, 'utf8')).not.toContain('per 1,000 prompts');
  });
});
