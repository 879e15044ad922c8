import { StoreError } from '../errors.js';
import { isProcessAlive } from './is-process-alive.js';
import type { JobRow } from './job-row.js';
import type { LockOwner } from './store-records.js';

/**
 * Whether `owner` may take the job's lock, and from whom: undefined when it is free or already
 * `owner`'s; the holder when it is gone (a dead pid on this host, or an earlier run of the same
 * scheduler task, on any host). A lock held by a live process, or by any process on another host
 * (whose liveness cannot be checked) that is not the same task, throws `JOB_LOCKED`.
 */
export function lockTakeover(job: JobRow, owner: LockOwner, now: number): LockOwner | undefined {
  if (job.lock_pid === null || job.lock_host === null) return undefined;
  if (job.lock_pid === owner.pid && job.lock_host === owner.host) return undefined;
  const pid = job.lock_pid;
  const host = job.lock_host;
  const sameTask = owner.task !== undefined && job.lock_task === owner.task;
  if (!sameTask && (host !== owner.host || isProcessAlive(pid))) {
    const since = new Date(job.lock_at ?? now).toISOString();
    throw new StoreError('JOB_LOCKED', `job "${job.name}" is being run by pid ${pid} on host ${host} since ${since}; wait for it to finish or stop it`);
  }
  return sameTask ? { pid, host, task: owner.task } : { pid, host };
}
