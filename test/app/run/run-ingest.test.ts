import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunIngest } from '../../../src/app/run/run-ingest.js';
import type { RunJobOptions } from '../../../src/app/run/run-job-options.js';
import { locateRun, planRun, type RunPlan } from '../../../src/app/run/run-plan.js';
import { settleWork } from '../../../src/app/run/settle-work.js';
import { readJobPrompts } from '../../../src/app/job/read-job-prompts.js';
import { AppError } from '../../../src/errors.js';
import { CheckpointStore } from '../../../src/store/checkpoint-store.js';
import type { PromptItem } from '../../../src/prompts/prompt-item.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-run-ingest-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const context = (home: string) => ({ cwd: dir, env: { BATCH_HOME: path.join(dir, home) }, stdin: new PassThrough() });

/** Plans `options` in `home`, opens the job and hands the store, plan and job id to `use`. */
async function withJob<T>(home: string, options: RunJobOptions, use: (store: CheckpointStore, plan: RunPlan, jobId: number, isNew: boolean) => Promise<T>): Promise<T> {
  const location = locateRun(options, context(home));
  const store = CheckpointStore.open({ path: location.located.db });
  try {
    const plan = await planRun(store.getJob(location.located.job), location, options, context(home));
    const job = store.openJob({ name: plan.job, config: { ...plan.config }, inputFingerprint: plan.fingerprint });
    return await use(store, plan, job.id, job.isNew);
  } finally {
    store.close();
  }
}

async function ids(items: AsyncIterable<PromptItem>): Promise<string[]> {
  const found: string[] = [];
  for await (const item of items) found.push(item.customId);
  return found;
}

const lines = (...prompts: string[]): string => prompts.map((prompt, i) => JSON.stringify({ id: `p${i}`, prompt })).join('\n');

describe('RunIngest (the ingest phase: where the work comes from)', () => {
  it("streams a new job's inputs: the work source grows while they are read, and the job then holds them all", async () => {
    const file = path.join(dir, 'new.jsonl');
    writeFileSync(file, lines('a', 'b', 'c'));
    await withJob('new', { inputs: [file], job: 'j' }, async (store, plan, jobId) => {
      const ingest = new RunIngest({ store, plan, jobId, cache: false, context: context('new') });
      await ingest.start();
      await ingest.readyToDispatch();
      const source = ingest.workSource(64);
      expect(source.growth).toBeDefined();
      const ended: string[] = [];
      ingest.beginDispatch({ knownBefore: () => undefined, readingEnded: () => ended.push('ended') });
      expect(await ingest.finish()).toBe(0);
      expect(ended).toEqual(['ended']);
      expect(await ids(source.items(null))).toEqual(['p0', 'p1', 'p2']);
      expect([ingest.complete, ingest.reading]).toEqual([true, false]);
      expect(ingest.summary).toMatchObject({ total: 3, added: 3 });
      expect(store.getJob('j')!.inputsRead).toBe(true);
    });
  });

  it("re-reads a job that holds items against its inputs (a changed line is sent again), and pages its work from the store", async () => {
    const file = path.join(dir, 'again.jsonl');
    writeFileSync(file, lines('a', 'b'));
    await withJob('again', { inputs: [file], job: 'j' }, async (store, plan, jobId) => {
      // The job as an earlier run left it: every line read.
      await store.ingest(jobId, readJobPrompts(plan.inputs, { cwd: dir, stdin: new PassThrough() }));
    });
    writeFileSync(file, lines('a', 'B'));
    await withJob('again', { inputs: [file], job: 'j' }, async (store, plan, jobId, isNew) => {
      const ingest = new RunIngest({ store, plan, jobId, cache: false, context: context('again') });
      await ingest.start();
      expect(ingest.summary).toMatchObject({ changed: 1, changedIds: ['p1'] });
      const source = ingest.workSource(64);
      expect(source.growth).toBeUndefined();
      const work = settleWork({ store, plan, jobId, isNewJob: isNew, ingest, retryFailed: false, cache: false });
      expect(work.before).toMatchObject({ total: 2, pending: 2 });
    });
  });

  it('reads nothing when the plan says so (a resume): the store is the work, and the job stays complete', async () => {
    const file = path.join(dir, 'resume.jsonl');
    writeFileSync(file, lines('a'));
    await withJob('resume', { inputs: [file], job: 'j' }, async (store, plan, jobId) => {
      await store.ingest(jobId, readJobPrompts(plan.inputs, { cwd: dir, stdin: new PassThrough() }));
    });
    await withJob('resume', { inputs: [], resume: true, job: 'j' }, async (store, plan, jobId) => {
      expect(plan.reread).toBe(false);
      const ingest = new RunIngest({ store, plan, jobId, cache: false, context: context('resume') });
      await ingest.start();
      expect([ingest.summary, ingest.complete, ingest.reading]).toEqual([undefined, true, false]);
      expect(await ids(ingest.workSource(64).items(null))).toEqual(['p0']);
    });
  });

  it('settleWork refuses a new job whose every prompt is unreadable, and inputs with no prompt', async () => {
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"id": 1\n[]\n');
    await withJob('bad', { inputs: [bad], job: 'j' }, async (store, plan, jobId, isNew) => {
      const ingest = new RunIngest({ store, plan, jobId, cache: false, context: context('bad') });
      await ingest.start();
      const refused = (() => {
        try {
          return settleWork({ store, plan, jobId, isNewJob: isNew, ingest, retryFailed: false, cache: false });
        } catch (error) {
          return error;
        }
      })();
      expect((refused as AppError).code).toBe('PROMPT_INVALID');
    });
    const empty = path.join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    await withJob('empty', { inputs: [empty], job: 'j' }, async (store, plan, jobId, isNew) => {
      const ingest = new RunIngest({ store, plan, jobId, cache: false, context: context('empty') });
      await ingest.start();
      expect(() => settleWork({ store, plan, jobId, isNewJob: isNew, ingest, retryFailed: false, cache: false })).toThrow(expect.objectContaining({ code: 'NO_PROMPTS' }));
    });
  });
});
