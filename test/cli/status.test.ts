import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writeDemoJob } from './demo-job.js';

let dir: string;
let env: Record<string, string>;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'batch-cli-status-'));
  env = { BATCH_HOME: path.join(dir, 'home') };
  await writeDemoJob(env.BATCH_HOME!);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('batch status', () => {
  it('shows counts, latency percentiles and top errors', async () => {
    const result = await runCliInProcess(['status', 'demo'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('4 total: 2 done, 1 failed, 1 pending');
    expect(result.stdout).toContain('p50 100 ms  p95 300 ms  p99 300 ms');
    expect(result.stdout).toMatch(/1\s+MODEL_NOT_FOUND\s+model x not found/);
    const json = await runCliInProcess(['status', 'demo', '--json'], { env });
    expect(JSON.parse(json.stdout).topErrors).toEqual([expect.objectContaining({ code: 'MODEL_NOT_FOUND', count: 1 })]);
  });

  it('exits 2 with JOB_NOT_FOUND for an unknown job, pointing at batch jobs', async () => {
    const result = await runCliInProcess(['status', 'no-such-job'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^batch: error \[JOB_NOT_FOUND\]: .*batch jobs/);
  });

  it('exits 2 when the job name is missing', async () => {
    const result = await runCliInProcess(['status'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("missing required argument 'job'");
  });
});
