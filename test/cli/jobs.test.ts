import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writeDemoJob } from './demo-job.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'batch-cli-jobs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('batch jobs', () => {
  it('says how to start a job when there is none', async () => {
    const result = await runCliInProcess(['jobs'], { cwd: dir, env: { BATCH_HOME: path.join(dir, 'none') } });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`no jobs in ${path.join(dir, 'none')}`);
  });

  it('lists jobs with state, done/total and failed, as a table or JSON', async () => {
    await writeDemoJob(path.join(dir, 'checkpoints'));
    const table = await runCliInProcess(['jobs'], { cwd: dir, env: { BATCH_HOME: undefined } });
    expect(table).toMatchObject({ code: 0, stderr: '' });
    expect(table.stdout).toMatch(/^JOB\s+STATE\s+DONE\/TOTAL/);
    expect(table.stdout).toMatch(/demo\s+interrupted\s+2\/4\s+1/);
    const json = await runCliInProcess(['jobs', '--json'], { cwd: dir, env: { BATCH_HOME: undefined } });
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ name: 'demo', done: 2, total: 4, failed: 1 })]);
  });
});
