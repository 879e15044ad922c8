import type BetterSqlite3 from 'better-sqlite3';
import { readLatestSample, type SampleRecord } from './samples.js';
import type { JobState, StatusCounts } from './store-records.js';

/** A prompt that failed, as the live view lists the last few. */
export interface RecentFailure {
  readonly code: string;
  readonly message: string;
  /** Epoch milliseconds it failed at. */
  readonly at: number;
}

/** One server's answers over the job so far. */
export interface ServerActivity {
  /** The server URL the answers came from. */
  readonly url: string;
  readonly done: number;
  readonly failed: number;
  /** Epoch milliseconds of its last finished prompt. */
  readonly lastAt: number;
}

/**
 * What `batch status --watch` reads at each refresh: a few cheap queries (no percentile sorts),
 * so a refresh every second costs the run nothing it would notice.
 */
export interface WatchFacts {
  readonly job: string;
  /** The job's state by the liveness rule (`liveJobState`). */
  readonly state: JobState;
  /** Counts through the same rule (`liveCounts`). */
  readonly counts: StatusCounts;
  /** The newest failures, newest first. */
  readonly recentFailures: readonly RecentFailure[];
  /** Servers that finished prompts of the job, by URL. */
  readonly servers: readonly ServerActivity[];
  /** The newest sample of the job's runs; null before the first (or for a database without samples). */
  readonly latestSample: SampleRecord | null;
}

/** The failures the live view lists. */
const recentFailureCount = 5;

/** The watch facts other than the job's name, state and counts (the reader adds those). */
export function readWatchActivity(db: BetterSqlite3.Database, jobId: number): Pick<WatchFacts, 'recentFailures' | 'servers' | 'latestSample'> {
  const recentFailures = db
    .prepare<[number, number], { code: string | null; message: string | null; at: number | null }>(
      `SELECT error_code AS code, error_message AS message, finished_at AS at FROM items
       WHERE job_id = ? AND status = 'failed' ORDER BY finished_at DESC LIMIT ?`,
    )
    .all(jobId, recentFailureCount)
    .map((row) => ({ code: row.code ?? 'UNKNOWN', message: row.message ?? '', at: row.at ?? 0 }));
  const servers = db
    .prepare<[number], ServerActivity>(
      `SELECT endpoint_url AS url, count(*) FILTER (WHERE status = 'done') AS done,
         count(*) FILTER (WHERE status = 'failed') AS failed, coalesce(max(finished_at), 0) AS lastAt
       FROM items WHERE job_id = ? AND endpoint_url IS NOT NULL AND status IN ('done', 'failed')
       GROUP BY endpoint_url ORDER BY endpoint_url`,
    )
    .all(jobId);
  return { recentFailures, servers, latestSample: readLatestSample(db, jobId) };
}
