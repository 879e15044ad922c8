import { liveJobState } from './job-liveness.js';
import type { JobRecord, JobState } from './store-records.js';

/** A row of `jobs` as SQLite returns it. */
export interface JobRow {
  readonly id: number;
  readonly name: string;
  readonly created_at: number;
  readonly config: string;
  readonly input_fingerprint: string;
  readonly state: JobState;
  readonly updated_at: number;
  readonly lock_pid: number | null;
  /** Absent in a database opened read-only before migration 022_lock_task. */
  readonly lock_task?: string | null;
  readonly lock_host: string | null;
  readonly lock_at: number | null;
  /** Absent in a database opened read-only before migration 011a_inputs_read. */
  readonly inputs_read?: number;
}

/** The job a row holds; `isNew` when `openJob` created it just now. */
export function toJobRecord(row: JobRow, isNew: boolean): JobRecord {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    config: JSON.parse(row.config) as Record<string, unknown>,
    inputFingerprint: row.input_fingerprint,
    // A run killed with -9 never recorded its end: its state is read through its lock.
    state: liveJobState({ state: row.state, lockPid: row.lock_pid, lockHost: row.lock_host }),
    inputsRead: row.inputs_read !== 0,
    isNew,
  };
}
