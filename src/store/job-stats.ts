import type BetterSqlite3 from 'better-sqlite3';
import type { StatusCounts } from './store-records.js';
import { groupPercentiles, type GroupPercentiles, type Percentiles } from './group-percentiles.js';

export type { Percentiles } from './group-percentiles.js';

/** Latency and TTFT percentiles of a job and its groups, read once for the stats and the groups' tables. */
export interface JobPercentiles {
  readonly latency: GroupPercentiles;
  readonly ttft: GroupPercentiles;
}

/** Reads `JobPercentiles`: one count and one sorted read per column. */
export function readJobPercentiles(db: BetterSqlite3.Database, jobId: number): JobPercentiles {
  return { latency: groupPercentiles(db, jobId, 'latency_ms'), ttft: groupPercentiles(db, jobId, 'ttft_ms') };
}

/** A group of failures with the same code and message. */
export interface ErrorGroup {
  readonly code: string;
  readonly message: string;
  readonly count: number;
}

/** What `batch status` shows about a job. */
export interface JobStats {
  readonly counts: StatusCounts;
  /**
   * From the first run's start (or first item's) to the last item finished; 0 before any. Start-up
   * (server probes, model loads) counts, and so do pauses between runs: the job's time on the clock,
   * unlike a model's or server's rates (`GroupStats`, from its first request to its last answer).
   */
  readonly wallMs: number;
  /** Runs of the job so far (`batch run` and each `batch resume`): more than one, `wallMs` holds the pauses between them. */
  readonly runs: number;
  /** Items that sent requests and finished, per second of `wallMs`. */
  readonly requestsPerSecond: number;
  /** Completion tokens of those items per second of `wallMs`. */
  readonly completionTokensPerSecond: number;
  /** Over done items that sent a request; null before the first. */
  readonly latencyMs: Percentiles | null;
  /** Median time to first token over done items that streamed; null when none did. */
  readonly ttftP50Ms: number | null;
  /** The five most frequent failures. */
  readonly topErrors: readonly ErrorGroup[];
  /** Items that copied the answer of an identical deterministic item in the job. */
  readonly deduplicated: number;
  /** Items answered from another job's result (`--cache`). */
  readonly cached: number;
}

interface Aggregates {
  readonly first_item_start: number | null;
  readonly last_finish: number | null;
  readonly sent: number;
  readonly completion_tokens: number;
  readonly deduplicated: number;
  readonly cached: number;
}

/** Computes `JobStats` with a handful of aggregate queries. */
export function computeJobStats(db: BetterSqlite3.Database, jobId: number, counts: StatusCounts, percentiles: JobPercentiles = readJobPercentiles(db, jobId)): JobStats {
  // Items copied from a duplicate or the cache sent nothing (attempts = 0): they would inflate
  // the request rate.
  const aggregates = db
    .prepare<[number], Aggregates>(
      `SELECT
         min(started_at) AS first_item_start,
         max(finished_at) FILTER (WHERE attempts > 0) AS last_finish,
         count(*) FILTER (WHERE attempts > 0 AND status IN ('done', 'failed')) AS sent,
         coalesce(sum(completion_tokens) FILTER (WHERE attempts > 0), 0) AS completion_tokens,
         count(*) FILTER (WHERE duplicate_of IS NOT NULL) AS deduplicated,
         count(*) FILTER (WHERE cached = 1) AS cached
       FROM items WHERE job_id = ?`,
    )
    .get(jobId);
  const runs = db
    .prepare<[number], { first_start: number | null; runs: number }>('SELECT min(started_at) AS first_start, count(*) AS runs FROM runs WHERE job_id = ?')
    .get(jobId);
  const firstRunStart = runs?.first_start ?? null;
  const starts = [firstRunStart, aggregates?.first_item_start].filter((t): t is number => typeof t === 'number');
  const lastFinish = aggregates?.last_finish ?? null;
  const wallMs = starts.length > 0 && lastFinish !== null ? Math.max(0, lastFinish - Math.min(...starts)) : 0;
  const seconds = wallMs / 1000;
  const sent = aggregates?.sent ?? 0;
  const latency = percentiles.latency.job;
  const ttft = percentiles.ttft.job;
  const topErrors = db
    .prepare<[number], ErrorGroup>(
      `SELECT error_code AS code, coalesce(error_message, '') AS message, count(*) AS count
       FROM items WHERE job_id = ? AND status = 'failed' AND error_code IS NOT NULL
       GROUP BY error_code, error_message ORDER BY count DESC, code, message LIMIT 5`,
    )
    .all(jobId);
  return {
    counts,
    wallMs,
    runs: runs?.runs ?? 0,
    requestsPerSecond: seconds > 0 ? sent / seconds : 0,
    completionTokensPerSecond: seconds > 0 ? (aggregates?.completion_tokens ?? 0) / seconds : 0,
    latencyMs: latency,
    ttftP50Ms: ttft === null ? null : ttft.p50,
    topErrors,
    deduplicated: aggregates?.deduplicated ?? 0,
    cached: aggregates?.cached ?? 0,
  };
}
