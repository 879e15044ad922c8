import type BetterSqlite3 from 'better-sqlite3';
import { sentAt } from './item-series.js';
import { readJobPercentiles, type JobPercentiles, type Percentiles } from './job-stats.js';
import { groupings } from './group-percentiles.js';

export { groupings } from './group-percentiles.js';

/** What one model or one server did over a job. */
export interface GroupStats {
  /** The model name, or the server URL. */
  readonly key: string;
  /** Prompts that sent requests and finished (done or failed). */
  readonly requests: number;
  readonly failed: number;
  readonly completionTokens: number;
  /** From the group's first request to its last answer, in milliseconds: the rates' span. */
  readonly spanMs: number;
  readonly requestsPerS: number;
  readonly tokensPerS: number;
  /** Over done prompts; null when none. */
  readonly latencyMs: Percentiles | null;
  /** Over done prompts that streamed; null when none did. */
  readonly ttftMs: Percentiles | null;
  /** Answers that reported a model load time (Ollama), and those that found the model loaded. */
  readonly loadReported: number;
  readonly warmStarts: number;
}

/** A model load reported by the server counts as warm below this (Ollama reports a few ms when resident). */
export const warmLoadMs = 50;

interface GroupRow {
  readonly key: string;
  readonly requests: number;
  readonly failed: number;
  readonly completion_tokens: number;
  readonly first_start: number | null;
  readonly last_finish: number | null;
  readonly load_reported: number;
  readonly warm: number;
}

/**
 * Per model or per server: requests and tokens per second over the group's own span, latency and
 * TTFT percentiles, and warm starts. Prompts answered from a duplicate or the cache sent nothing
 * and are left out. Busiest group first.
 */
export function groupStats(
  db: BetterSqlite3.Database,
  jobId: number,
  by: keyof typeof groupings,
  percentiles: JobPercentiles = readJobPercentiles(db, jobId),
): GroupStats[] {
  const key = groupings[by];
  const rows = db
    .prepare<[number], GroupRow>(
      `SELECT ${key} AS key,
         count(*) AS requests,
         count(*) FILTER (WHERE status = 'failed') AS failed,
         coalesce(sum(completion_tokens), 0) AS completion_tokens,
         min(${sentAt}) AS first_start,
         max(finished_at) AS last_finish,
         count(model_load_ms) AS load_reported,
         count(*) FILTER (WHERE model_load_ms < ${warmLoadMs}) AS warm
       FROM items
       WHERE job_id = ? AND attempts > 0 AND status IN ('done', 'failed')
       GROUP BY key ORDER BY requests DESC, key`,
    )
    .all(jobId);
  return rows.map((row) => {
    const spanMs = row.first_start !== null && row.last_finish !== null ? Math.max(0, row.last_finish - row.first_start) : 0;
    const perSecond = (count: number): number => (spanMs > 0 ? (count / spanMs) * 1000 : 0);
    return {
      key: row.key,
      requests: row.requests,
      failed: row.failed,
      completionTokens: row.completion_tokens,
      spanMs,
      requestsPerS: perSecond(row.requests),
      tokensPerS: perSecond(row.completion_tokens),
      latencyMs: percentiles.latency[by].get(row.key) ?? null,
      ttftMs: percentiles.ttft[by].get(row.key) ?? null,
      loadReported: row.load_reported,
      warmStarts: row.warm,
    };
  });
}

/**
 * Managed servers each load one model when they start, on a port of their own: the distinct server
 * URLs that answered for a model are its loads. Only meaningful for a job without `--server`s.
 */
export function managedLoadsByModel(db: BetterSqlite3.Database, jobId: number): Map<string, number> {
  const rows = db
    .prepare<[number], { key: string; loads: number }>(
      `SELECT ${groupings.model} AS key, count(DISTINCT endpoint_url) AS loads
       FROM items WHERE job_id = ? AND attempts > 0 AND endpoint_url IS NOT NULL GROUP BY key`,
    )
    .all(jobId);
  return new Map(rows.map((row) => [row.key, row.loads]));
}
