import type BetterSqlite3 from 'better-sqlite3';

/** Counts of values in equal-width bins from `fromMs`, `widthMs` each; the last bin also holds everything above. */
export interface Histogram {
  readonly fromMs: number;
  readonly widthMs: number;
  readonly counts: readonly number[];
  /** Values counted (all of them, the overflow included). */
  readonly total: number;
}

/** One point of the run over time. */
export interface SeriesPoint {
  /** Epoch milliseconds: the end of the interval the rates are over. */
  readonly at: number;
  readonly requestsPerS: number;
  readonly tokensPerS: number;
  readonly inFlight: number;
  readonly queued: number;
}

/**
 * Mean time per answered prompt, in milliseconds, split where it went; a part the job holds no
 * data for is null (the report says "not reported"). `otherMs` is the rest of the latency
 * (transfer, the server's own queue, work it does not time).
 */
export interface TimeSplit {
  readonly prompts: number;
  /** Waiting in `batch`, ready but not sent (needs per-prompt queue waits). */
  readonly queueMs: number | null;
  /** Model loads the server reported (Ollama `load_duration`). */
  readonly loadMs: number | null;
  /** Prompt processing and generation as llama-server's `timings` report them. */
  readonly promptMs: number | null;
  readonly generationMs: number | null;
  readonly otherMs: number | null;
  readonly latencyMs: number | null;
}

/** Failures with one code and message. */
export interface FailureGroup {
  readonly code: string;
  readonly message: string;
  readonly count: number;
}

/**
 * When a prompt's (last) request went out. `started_at` is stamped when the result writer commits
 * it, which with the writer on its own thread can be after the answer came; an answer's finish less
 * its latency is exact.
 */
export const sentAt = `CASE WHEN finished_at IS NOT NULL AND latency_ms IS NOT NULL THEN finished_at - latency_ms ELSE coalesce(started_at, finished_at) END`;

/** Bins of a histogram: enough to see a shape, few enough to read on a phone. */
const bins = 20;

/**
 * A histogram of `column` over the job's answered prompts, from 0 to the 99th percentile (so one
 * stuck request does not squash the rest into one bar); null when no prompt has a value.
 */
export function histogramOf(db: BetterSqlite3.Database, jobId: number, column: 'latency_ms' | 'ttft_ms', p99: number | undefined): Histogram | null {
  if (p99 === undefined) return null;
  const widthMs = Math.max(1, niceWidth(p99 / bins));
  const rows = db
    .prepare<[number, number], { b: number; n: number }>(
      `SELECT min(CAST(${column} / ? AS INTEGER), ${bins - 1}) AS b, count(*) AS n
       FROM items WHERE job_id = ? AND attempts > 0 AND status = 'done' AND ${column} IS NOT NULL GROUP BY b`,
    )
    .all(widthMs, jobId);
  const counts = new Array<number>(bins).fill(0);
  for (const row of rows) counts[Math.max(0, row.b)]! += row.n;
  const total = counts.reduce((a, b) => a + b, 0);
  return total === 0 ? null : { fromMs: 0, widthMs, counts, total };
}

/** 1, 2 or 5 times a power of ten, at least `raw`: bin edges a person can read. */
export function niceWidth(raw: number): number {
  if (!(raw > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const step of [1, 2, 5, 10]) if (step * power >= raw) return step * power;
  return 10 * power;
}

interface SplitRow {
  readonly prompts: number;
  readonly queue: number | null;
  readonly load: number | null;
  readonly prompt: number | null;
  readonly generation: number | null;
  readonly latency: number | null;
}

/** Where an answered prompt's time went, on average (see `TimeSplit`). */
export function timeSplitOf(db: BetterSqlite3.Database, jobId: number): TimeSplit {
  const timing = (name: string): string => `CASE WHEN json_valid(response) THEN json_extract(response, '$.body.timings.${name}') END`;
  const row = db
    .prepare<[number], SplitRow>(
      `SELECT count(*) AS prompts, avg(queue_wait_ms) AS queue, avg(model_load_ms) AS load,
         avg(${timing('prompt_ms')}) AS prompt, avg(${timing('predicted_ms')}) AS generation, avg(latency_ms) AS latency
       FROM items WHERE job_id = ? AND attempts > 0 AND status = 'done'`,
    )
    .get(jobId);
  const known = [row?.load, row?.prompt, row?.generation].filter((v): v is number => typeof v === 'number');
  const latency = row?.latency ?? null;
  return {
    prompts: row?.prompts ?? 0,
    queueMs: row?.queue ?? null,
    loadMs: row?.load ?? null,
    promptMs: row?.prompt ?? null,
    generationMs: row?.generation ?? null,
    otherMs: latency === null || known.length === 0 ? null : Math.max(0, latency - known.reduce((a, b) => a + b, 0)),
    latencyMs: latency,
  };
}

/** Failures by code and message, most frequent first; at most `limit` groups. */
export function failureGroups(db: BetterSqlite3.Database, jobId: number, limit: number): FailureGroup[] {
  return db
    .prepare<[number, number], FailureGroup>(
      `SELECT coalesce(error_code, 'UNKNOWN') AS code, coalesce(error_message, '') AS message, count(*) AS count
       FROM items WHERE job_id = ? AND status = 'failed'
       GROUP BY code, message ORDER BY count DESC, code, message LIMIT ?`,
    )
    .all(jobId, limit);
}

/** Failed prompts per code, most frequent first. */
export function failuresByCode(db: BetterSqlite3.Database, jobId: number): Array<{ readonly code: string; readonly count: number }> {
  return db
    .prepare<[number], { code: string; count: number }>(
      `SELECT coalesce(error_code, 'UNKNOWN') AS code, count(*) AS count FROM items
       WHERE job_id = ? AND status = 'failed' GROUP BY code ORDER BY count DESC, code`,
    )
    .all(jobId);
}

/** Retried attempts per cause (the error code that made `batch` send again), from items' retry_causes. */
export function retryCauses(db: BetterSqlite3.Database, jobId: number): Array<{ readonly code: string; readonly count: number }> {
  return db
    .prepare<[number], { code: string; count: number }>(
      `SELECT j.key AS code, CAST(sum(j.value) AS INTEGER) AS count
       FROM items, json_each(CASE WHEN json_valid(items.retry_causes) THEN items.retry_causes ELSE '{}' END) AS j
       WHERE items.job_id = ? AND items.retry_causes IS NOT NULL AND j.type IN ('integer', 'real')
       GROUP BY j.key ORDER BY count DESC, code`,
    )
    .all(jobId);
}

/**
 * The run over time rebuilt from prompts' start and finish times, for a job without samples:
 * answers and tokens per second, requests in flight and prompts not yet sent at the end of each of
 * about `points` equal intervals.
 */
export function seriesFromItems(db: BetterSqlite3.Database, jobId: number, points = 60): SeriesPoint[] {
  const span = db
    .prepare<[number], { t0: number | null; t1: number | null; eligible: number }>(
      `SELECT min(${sentAt}) FILTER (WHERE attempts > 0 OR status = 'running') AS t0,
         max(finished_at) FILTER (WHERE attempts > 0) AS t1,
         count(*) FILTER (WHERE attempts > 0 OR status IN ('pending', 'running')) AS eligible
       FROM items WHERE job_id = ?`,
    )
    .get(jobId);
  if (span?.t0 == null || span.t1 == null) return [];
  const t0 = span.t0;
  // A failed prompt keeps the start of its last attempt, which can come after the finish it
  // records: a span that ends before it starts has one bucket (a negative length threw RangeError).
  const t1 = Math.max(span.t1, t0);
  const stepMs = Math.max(100, niceWidth((t1 - t0) / points));
  const count = Math.floor((t1 - t0) / stepMs) + 1;
  const starts = new Array<number>(count).fill(0);
  const finishes = new Array<number>(count).fill(0);
  const tokens = new Array<number>(count).fill(0);
  const bucket = (at: number): number => Math.min(count - 1, Math.max(0, Math.floor((at - t0) / stepMs)));
  const rows = db
    .prepare<[number], { started_at: number; finished_at: number | null; tokens: number }>(
      `SELECT ${sentAt} AS started_at, CASE WHEN attempts > 0 THEN finished_at END AS finished_at, coalesce(completion_tokens, 0) AS tokens
       FROM items WHERE job_id = ? AND ${sentAt} IS NOT NULL AND (attempts > 0 OR status = 'running')`,
    )
    .iterate(jobId);
  for (const row of rows) {
    starts[bucket(row.started_at)]! += 1;
    if (row.finished_at !== null) {
      finishes[bucket(row.finished_at)]! += 1;
      tokens[bucket(row.finished_at)]! += row.tokens;
    }
  }
  const series: SeriesPoint[] = [];
  let started = 0;
  let finished = 0;
  for (let i = 0; i < count; i++) {
    started += starts[i]!;
    finished += finishes[i]!;
    series.push({
      at: t0 + (i + 1) * stepMs,
      requestsPerS: (finishes[i]! / stepMs) * 1000,
      tokensPerS: (tokens[i]! / stepMs) * 1000,
      inFlight: Math.max(0, started - finished),
      queued: Math.max(0, span.eligible - started),
    });
  }
  return series;
}
