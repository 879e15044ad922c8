import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simAnswer, startSimServer, type SimServer } from '../sim/sim-server.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';

let dir: string;
let sim: SimServer;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-night-'));
  env = { BATCH_HOME: path.join(dir, 'home') };
  // The first request for "flaky" gets a 500; with --retries 0 the job ends with one failure.
  let flakyFailures = 0;
  sim = await startSimServer({
    slots: 4,
    script: (_n, req) => (req.promptText === 'flaky' && flakyFailures++ < 1 ? '500' : undefined),
  });
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('jobs, status, export, resume --retry-failed, deduplication', () => {
  it('answers identical deterministic prompts once, lists and exports the job, and retries failures on request', async () => {
    const file = path.join(dir, 'night.jsonl');
    writeFileSync(
      file,
      [
        { id: 'a', prompt: 'same question', temperature: 0 },
        { id: 'b', prompt: 'same question', temperature: 0 },
        { id: 'c', prompt: 'other question' },
        { id: 'd', prompt: 'flaky' },
      ].map((l) => JSON.stringify(l)).join('\n'),
    );
    const run = await runCliInProcess(['run', file, '--server', sim.url, '--job', 'night', '--retries', '0', '--json'], { env });
    expect(run.code).toBe(4);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ done: 3, failed: 1, deduplicated: 1 });
    expect(sim.stats().byPrompt['same question']).toBe(1);
    expect(statSync(path.join(env.BATCH_HOME!, 'night.sqlite')).mode & 0o777).toBe(0o600);
    expect(statSync(summary.output).mode & 0o777).toBe(0o600);

    const jobs = await runCliInProcess(['jobs'], { env });
    expect(jobs.code).toBe(0);
    expect(jobs.stdout).toMatch(/night\s+failed\s+3\/4/);

    const status = await runCliInProcess(['status', 'night', '--json'], { env });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).topErrors[0]).toMatchObject({ code: 'SERVER_ERROR', count: 1 });

    const csv = path.join(dir, 'night.csv');
    const exported = await runCliInProcess(['export', 'night', '--out', csv], { env });
    expect(exported.code).toBe(0);
    const rows = readFileSync(csv, 'utf8').trim().split(/\r?\n/);
    expect(rows[0]).toBe('custom_id,status,model,content,error_code,error_message,prompt_tokens,completion_tokens,latency_ms');
    expect(rows.find((r) => r.startsWith('b,'))).toContain(simAnswer('same question'));

    const failedOnly = await runCliInProcess(['export', 'night', '--failed'], { env });
    expect(parseJsonl(failedOnly.stdout).map((l) => l.custom_id)).toEqual(['d']);

    const retried = await runCliInProcess(['resume', 'night', '--retry-failed', '--json'], { env });
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ done: 4, failed: 0, sent: 1 });
    expect(sim.stats().byPrompt.flaky).toBe(2);
    expect(sim.stats().byPrompt['other question']).toBe(1);

    const unknown = await runCliInProcess(['status', 'no-such-job'], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/JOB_NOT_FOUND.*batch jobs/);
  });
});
