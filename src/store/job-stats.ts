import type BetterSqlite3 from 'better-sqlite3';
import type { StatusCounts } from './store-records.js';

/** Latency percentiles in milliseconds (nearest-rank). */
export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
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

/**
 * Nearest-rank percentile positions (0-based) in a sorted list of `n` values:
 * the smallest value with at least p% of values at or below it.
 */
export function percentileRank(n: number, p: number): number {
  return Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
}

/**
 * Reads `column` sorted, stopping at the highest rank needed, so only one value at a time is in
 * memory however many items the job has.
 */
function percentilesOf(
  db: BetterSqlite3.Database,
  jobId: number,
  column: 'latency_ms' | 'ttft_ms',
  ps: readonly number[],
): number[] | null {
  const where = `job_id = ? AND status = 'done' AND ${column} IS NOT NULL`;
  const n = db.prepare<[number], number>(`SELECT count(*) FROM items WHERE ${where}`).pluck().get(jobId) ?? 0;
  if (n === 0) return null;
  const ranks = ps.map((p) => percentileRank(n, p));
  const values: number[] = new Array<number>(ps.length).fill(0);
  const last = Math.max(...ranks);
  let rank = 0;
  for (const value of db.prepare<[number], number>(`SELECT ${column} FROM items WHERE ${where} ORDER BY ${column}`).pluck().iterate(jobId)) {
    ranks.forEach((wanted, i) => {
      if (wanted === rank) values[i] = value;
    });
    if (rank >= last) break;
    rank++;
  }
  return values;
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
export function computeJobStats(db: BetterSqlite3.Database, jobId: number, counts: StatusCounts): JobStats {
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
  const latency = percentilesOf(db, jobId, 'latency_ms', [50, 95, 99]);
  const ttft = percentilesOf(db, jobId, 'ttft_ms', [50]);
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
    latencyMs: latency === null ? null : { p50: latency[0] ?? 0, p95: latency[1] ?? 0, p99: latency[2] ?? 0 },
    ttftP50Ms: ttft === null ? null : (ttft[0] ?? null),
    topErrors,
    deduplicated: aggregates?.deduplicated ?? 0,
    cached: aggregates?.cached ?? 0,
  };
}
