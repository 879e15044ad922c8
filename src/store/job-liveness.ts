import { hostname } from 'node:os';
import { isProcessAlive } from './is-process-alive.js';
import type { JobState, StatusCounts } from './store-records.js';

/** What the database says of a job's state and of the process that holds it. */
export interface JobLockRecord {
  /** The state last written (a run killed with -9 never wrote its end: still `running`). */
  readonly state: JobState;
  readonly lockPid: number | null;
  readonly lockHost: string | null;
}

/** This machine's name, as `batch run` records it with the lock. */
const thisHost = hostname();

/**
 * The one rule for whether a job is running, used by `batch jobs`, `status`, `report` and the
 * resume a bare `batch resume` picks: a job recorded as running is running while its lock's
 * process lives. A lock on this host whose pid is gone, or no lock at all, means the run was
 * killed (kill -9, a crash, a power cut): the job is `interrupted`. A lock taken on another host
 * cannot be checked from here and is believed.
 */
export function liveJobState(record: JobLockRecord, host: string = thisHost): JobState {
  if (record.state !== 'running') return record.state;
  if (record.lockPid === null) return 'interrupted';
  if (record.lockHost === host && !isProcessAlive(record.lockPid)) return 'interrupted';
  return 'running';
}

/**
 * Item counts as a reader should see them: items marked `running` by a run that is no longer
 * alive are not in flight; they are pending (the next run sends them again).
 */
export function liveCounts(counts: StatusCounts, state: JobState): StatusCounts {
  if (state === 'running' || counts.running === 0) return counts;
  return { ...counts, pending: counts.pending + counts.running, running: 0 };
}
