import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateRun, planRun } from '../../../src/app/run/run-plan.js';
import type { RunJobContext, RunJobOptions } from '../../../src/app/run/run-job-options.js';
import { CheckpointStore } from '../../../src/store/checkpoint-store.js';
import { AppError } from '../../../src/errors.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-run-plan-'));
  writeFileSync(path.join(dir, 'a.jsonl'), '{"id":"a","prompt":"x"}\n');
  writeFileSync(path.join(dir, 'b.jsonl'), '{"id":"b","prompt":"y"}\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function context(home: string, notices: string[] = []): RunJobContext {
  return { cwd: dir, env: { BATCH_HOME: path.join(dir, home) }, stdin: new PassThrough(), notice: (line) => notices.push(line) };
}

/** Plans `options` against a job database that first holds a job opened with `first` (when given). */
async function plan(home: string, options: RunJobOptions, first?: RunJobOptions) {
  const ctx = context(home);
  if (first !== undefined) {
    const earlier = await planRun(undefined, locateRun(first, ctx), first, ctx);
    const store = CheckpointStore.open({ path: earlier.db });
    store.openJob({ name: earlier.job, config: { ...earlier.config }, inputFingerprint: earlier.fingerprint });
    store.close();
  }
  const location = locateRun(options, ctx);
  const store = CheckpointStore.open({ path: location.located.db });
  try {
    return await planRun(store.getJob(location.located.job), location, options, ctx);
  } finally {
    store.close();
  }
}

describe('planRun (the plan phase, before the job is touched)', () => {
  it('plans a new job: absolute inputs, the target, the default output, frozen', async () => {
    const planned = await plan('new', { inputs: ['a.jsonl'], job: 'j', servers: ['http://127.0.0.1:9'], stream: true });
    expect(planned).toMatchObject({ job: 'j', inputs: [path.join(dir, 'a.jsonl')], reread: true, target: { kind: 'fleet', servers: ['http://127.0.0.1:9'] } });
    expect(planned.out).toBe(path.join(dir, 'new', 'j.output.jsonl'));
    expect(planned.config.settings).toMatchObject({ stream: true });
    expect(Object.isFrozen(planned)).toBe(true);
  });

  it('merges the settings given now over the ones the job remembers, and resumes with its saved inputs', async () => {
    const resumed = await plan('merge', { inputs: [], resume: true, job: 'j', workers: 3 }, { inputs: ['a.jsonl'], job: 'j', models: [path.join(dir, 'm.gguf')], workers: 1, stream: true });
    expect(resumed.inputs).toEqual([path.join(dir, 'a.jsonl')]);
    expect(resumed.given).toMatchObject({ workers: 3, stream: true });
    expect(resumed.target).toEqual({ kind: 'managed', models: [path.join(dir, 'm.gguf')], modelsDir: undefined });
    // A resume with nothing failed and every input read reads nothing again.
    expect(resumed.reread).toBe(false);
  });

  it('refuses other inputs for an existing job unless --replace-inputs', async () => {
    const refused = await plan('changed', { inputs: ['b.jsonl'], job: 'j' }, { inputs: ['a.jsonl'], job: 'j' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('JOB_INPUTS_CHANGED');
    expect((refused as AppError).message).toContain('Pass --replace-inputs');
    const replaced = await plan('changed', { inputs: ['b.jsonl'], job: 'j', replaceInputs: true });
    expect(replaced.inputs).toEqual([path.join(dir, 'b.jsonl')]);
  });

  it('refuses an output that would overwrite an input, before anything is created', async () => {
    const refused = await plan('out', { inputs: ['a.jsonl'], job: 'j', out: 'a.jsonl' }).catch((error: unknown) => error);
    expect((refused as AppError).exitCode).toBe(2);
  });

  it('refuses a resume of a job that does not exist', async () => {
    const ctx = context('missing');
    const options: RunJobOptions = { inputs: [], resume: true, job: 'nope' };
    const refused = await planRun(undefined, { home: path.join(dir, 'missing'), located: { job: 'nope', db: path.join(dir, 'nope.sqlite'), created: false } }, options, ctx).catch((error: unknown) => error);
    expect((refused as AppError).code).toBe('JOB_NOT_FOUND');
  });
});
