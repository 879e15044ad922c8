import { describe, expect, it } from 'vitest';
import { shardFromScheduler } from '../../src/prompts/scheduler-shard.js';

const slurm = (id: number, min: number, max: number, extra: Record<string, string> = {}): Record<string, string> => ({
  SLURM_ARRAY_TASK_ID: String(id),
  SLURM_ARRAY_TASK_MIN: String(min),
  SLURM_ARRAY_TASK_MAX: String(max),
  ...extra,
});

describe('--shard auto', () => {
  it('reads a Slurm array task as its place in the array, whatever the first index', () => {
    expect(shardFromScheduler('auto', slurm(1, 1, 4, { SLURM_ARRAY_TASK_COUNT: '4' })).shard).toEqual({ index: 1, count: 4 });
    expect(shardFromScheduler('auto', slurm(0, 0, 3)).shard).toEqual({ index: 1, count: 4 });
    expect(shardFromScheduler('auto', slurm(12, 10, 13)).shard).toEqual({ index: 3, count: 4 });
    expect(shardFromScheduler('auto', slurm(12, 10, 13)).source).toBe('Slurm array task 12 of 10-13');
  });

  it('reads an array with a step (--array=3-9:2) as Slurm sets it', () => {
    const env = slurm(7, 3, 9, { SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: '4' });
    expect(shardFromScheduler('auto', env).shard).toEqual({ index: 3, count: 4 });
  });

  it('refuses an array given as a list, whose ids say nothing of a task place', () => {
    // What Slurm sets for --array=1,4,9 (measured): step 1, count 3 over the span 1-9.
    const env = slurm(4, 1, 9, { SLURM_ARRAY_TASK_STEP: '1', SLURM_ARRAY_TASK_COUNT: '3' });
    expect(() => shardFromScheduler('auto', env)).toThrow(/given as a list .* submit a range \(--array=1-N/);
  });

  it('reads a Kubernetes completion index with the count from auto/N or BATCH_SHARD_COUNT', () => {
    expect(shardFromScheduler('auto/4', { JOB_COMPLETION_INDEX: '0' }).shard).toEqual({ index: 1, count: 4 });
    expect(shardFromScheduler('auto', { JOB_COMPLETION_INDEX: '3', BATCH_SHARD_COUNT: '4' }).shard).toEqual({ index: 4, count: 4 });
    expect(() => shardFromScheduler('auto', { JOB_COMPLETION_INDEX: '3' })).toThrow(/does not say how many shards .*--shard auto\/N or set BATCH_SHARD_COUNT/);
    expect(() => shardFromScheduler('auto/4', { JOB_COMPLETION_INDEX: '4' })).toThrow(/past the last of 4 shards/);
    expect(() => shardFromScheduler('auto/3', { JOB_COMPLETION_INDEX: '0', BATCH_SHARD_COUNT: '4' })).toThrow(/disagree/);
  });

  it('refuses when no scheduler is there, when they contradict each other, or on bad values', () => {
    expect(() => shardFromScheduler('auto', {})).toThrow(/found no scheduler: neither SLURM_ARRAY_TASK_ID .* nor JOB_COMPLETION_INDEX/);
    expect(() => shardFromScheduler('auto/4', { ...slurm(1, 1, 4), JOB_COMPLETION_INDEX: '2' })).toThrow(/schedulers disagree/);
    expect(shardFromScheduler('auto/4', { ...slurm(3, 1, 4), JOB_COMPLETION_INDEX: '2' }).shard).toEqual({ index: 3, count: 4 });
    expect(() => shardFromScheduler('auto/5', slurm(1, 1, 4))).toThrow(/names 5 shards, but Slurm array task 1 of 1-4 makes 4/);
    expect(() => shardFromScheduler('auto', { SLURM_ARRAY_TASK_ID: '2' })).toThrow(/SLURM_ARRAY_TASK_MIN is not/);
    expect(() => shardFromScheduler('auto', slurm(5, 1, 4))).toThrow(/5 is not a task of the array 1-4/);
    expect(() => shardFromScheduler('auto', slurm(1, 1, 4, { SLURM_ARRAY_TASK_STEP: 'x' }))).toThrow(/SLURM_ARRAY_TASK_STEP to be a whole number >= 1, got "x"/);
    expect(() => shardFromScheduler('automatic', {})).toThrow(/K\/N, auto or auto\/N/);
  });
});
