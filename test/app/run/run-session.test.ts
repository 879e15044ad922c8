import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateRun, planRun, type RunPlan } from '../../../src/app/run/run-plan.js';
import { RunSession, type RunSessionOptions } from '../../../src/app/run/run-session.js';
import { AppError, StoreError } from '../../../src/errors.js';
import { CheckpointStore } from '../../../src/store/checkpoint-store.js';
import { connectionOf } from '../../../src/store/connection-of.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-run-session-'));
  writeFileSync(path.join(dir, 'a.jsonl'), '{"id":"a","prompt":"x"}\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A session's options and the plan of a new job `j` in its own home. */
async function setup(home: string): Promise<{ options: RunSessionOptions; plan: RunPlan }> {
  const context = { cwd: dir, env: { BATCH_HOME: path.join(dir, home) }, stdin: new PassThrough() };
  const runOptions = { inputs: ['a.jsonl'], job: 'j' };
  const location = locateRun(runOptions, context);
  const plan = await planRun(undefined, location, runOptions, context);
  return { options: { located: location.located, resumeCommand: (retry) => `batch resume j${retry ? ' --retry-failed' : ''}`, argv: ['run', 'a.jsonl'], env: {} }, plan };
}

/** The job's runs (exit codes) and whether another live process could take its lock now. */
function inspect(db: string): { exitCodes: Array<number | null>; lockFree: boolean } {
  const store = CheckpointStore.open({ path: db });
  try {
    const exitCodes = (connectionOf(store).prepare('SELECT exit_code FROM runs ORDER BY id').all() as Array<{ exit_code: number | null }>).map((row) => row.exit_code);
    const job = store.getJob('j')!;
    let lockFree = true;
    try {
      // pid 1 is alive: it can take the lock only when nobody holds it.
      store.acquireLock(job.id, { pid: 1, host: os.hostname() });
      store.releaseLock(job.id);
    } catch {
      lockFree = false;
    }
    return { exitCodes, lockFree };
  } finally {
    store.close();
  }
}

describe('RunSession (the session phase: lock, run record, disposal)', () => {
  it('ends the run record with the exit code and releases the lock when the work returns', async () => {
    const { options, plan } = await setup('ok');
    const locked = await RunSession.run(options, async (session) => {
      const { job } = session.begin(plan);
      session.exitCode = 4;
      return inspect(plan.db).lockFree || job.id < 0;
    });
    expect(locked).toBe(false);
    expect(inspect(plan.db)).toEqual({ exitCodes: [4], lockFree: true });
  });

  it('a new job refused before its first request is deleted, with the database it created', async () => {
    const { options, plan } = await setup('refused');
    const steps: string[] = [];
    const refusal = new AppError('NO_PROMPTS', 'nothing');
    const thrown = await RunSession.run(options, async (session) => {
      session.begin(plan);
      session.beforeFailure(async () => void steps.push('stopped reading'));
      throw refusal;
    }).catch((error: unknown) => error);
    expect(thrown).toBe(refusal);
    expect(steps).toEqual(['stopped reading']);
    expect(existsSync(plan.db)).toBe(false);
  });

  it('a failure after the first request keeps the job, ends its run with the exit code, and says how to continue', async () => {
    const { options, plan } = await setup('dispatched');
    const thrown = await RunSession.run(options, async (session) => {
      session.begin(plan);
      session.markDispatched();
      session.ingested = true;
      throw new StoreError('STORE_WRITE_FAILED', 'disk full');
    }).catch((error: unknown) => error);
    expect((thrown as AppError).message).toBe('disk full; then continue with `batch resume j`');
    expect(inspect(plan.db)).toEqual({ exitCodes: [3], lockFree: true });
  });

  it('a store failure before the job holds all its inputs says to run the same command again', async () => {
    const { options, plan } = await setup('partial');
    const thrown = await RunSession.run(options, async (session) => {
      session.begin(plan);
      session.markDispatched();
      throw new StoreError('STORE_WRITE_FAILED', 'disk full');
    }).catch((error: unknown) => error);
    expect((thrown as AppError).message).toBe('disk full; then run the same command again');
  });
});
