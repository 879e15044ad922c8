import { describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { schedulerTaskId } from '../../src/prompts/scheduler-shard.js';

describe('a job lock held by a scheduler task', () => {
  it('is taken over by the same task requeued on another node, and by nothing else', () => {
    const store = CheckpointStore.open({ path: ':memory:' });
    const { id } = store.openJob({ name: 'night.shard-2-of-4', config: {}, inputFingerprint: 'x' });
    // A live pid, on another host: only the scheduler can say that run is over.
    store.acquireLock(id, { pid: process.pid, host: 'node-a', task: 'slurm:77_2' });
    expect(() => store.acquireLock(id, { pid: 12, host: 'node-b' })).toThrow(/is being run by pid \d+ on host node-a/);
    expect(() => store.acquireLock(id, { pid: 12, host: 'node-b', task: 'slurm:77_3' })).toThrow(/JOB_LOCKED|is being run/);
    const requeued = store.acquireLock(id, { pid: 12, host: 'node-b', task: 'slurm:77_2' });
    expect(requeued.tookOverFrom).toEqual({ pid: process.pid, host: 'node-a', task: 'slurm:77_2' });
    store.releaseLock(id);
    expect(store.acquireLock(id, { pid: 13, host: 'node-c' }).tookOverFrom).toBeUndefined();
    store.close();
  });

  it('is named from the scheduler environment', () => {
    expect(schedulerTaskId({ SLURM_JOB_ID: '80', SLURM_ARRAY_JOB_ID: '77', SLURM_ARRAY_TASK_ID: '2' })).toBe('slurm:77_2');
    expect(schedulerTaskId({ SLURM_JOB_ID: '80' })).toBe('slurm:80');
    expect(schedulerTaskId({ JOB_COMPLETION_INDEX: '3' })).toBe('k8s:3');
    expect(schedulerTaskId({})).toBeUndefined();
  });
});
