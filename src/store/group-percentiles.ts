import type BetterSqlite3 from 'better-sqlite3';

/** Latency percentiles in milliseconds (nearest-rank). */
export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/**
 * Nearest-rank percentile positions (0-based) in a sorted list of `n` values:
 * the smallest value with at least p% of values at or below it.
 */
export function percentileRank(n: number, p: number): number {
  return Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
}

/** The two ways a job splits into groups; the expressions are ours, never user input. */
export const groupings = {
  model: `coalesce(served_model, model, '(default model)')`,
  server: `coalesce(endpoint_url, '(no server)')`,
} as const;

/** Percentiles of one column over a job, each of its models and each of its servers. */
export interface GroupPercentiles {
  /** Over the job's done items with a value (`batch status`'s figure); null when none. */
  readonly job: Percentiles | null;
  /** Over done items that sent a request, per model; a model without values is absent. */
  readonly model: ReadonlyMap<string, Percentiles>;
  readonly server: ReadonlyMap<string, Percentiles>;
}

/** The ranks one group wants, the values found at them, and how far its scan got. */
class RankTally {
  readonly #ranks: readonly number[];
  readonly #values = [0, 0, 0];
  #seen = 0;

  constructor(count: number) {
    this.#ranks = [50, 95, 99].map((p) => percentileRank(count, p));
  }

  /** Takes the group's next value in ascending order. */
  add(value: number): void {
    for (let i = 0; i < 3; i++) if (this.#ranks[i] === this.#seen) this.#values[i] = value;
    this.#seen++;
  }

  get percentiles(): Percentiles {
    return { p50: this.#values[0]!, p95: this.#values[1]!, p99: this.#values[2]! };
  }
}

interface CountRow {
  readonly model: string;
  readonly server: string;
  readonly sent: number;
  readonly all: number;
}

interface ValueRow {
  readonly model: string;
  readonly server: string;
  readonly sent: number;
  readonly value: number;
}

/**
 * Nearest-rank p50/p95/p99 of `column` for the job and for each model and server, from one count
 * and one sorted read of the job's values, however many groups: the end-of-run summary read the
 * job once per group and per percentile set before (issue 23's profile: ~5% of a 20,000-prompt
 * run's main thread). One value at a time is held, as before.
 */
export function groupPercentiles(db: BetterSqlite3.Database, jobId: number, column: 'latency_ms' | 'ttft_ms'): GroupPercentiles {
  const where = `job_id = ? AND status = 'done' AND ${column} IS NOT NULL`;
  const counts = db
    .prepare<[number], CountRow>(
      `SELECT ${groupings.model} AS model, ${groupings.server} AS server, count(*) FILTER (WHERE attempts > 0) AS sent, count(*) AS "all"
       FROM items WHERE ${where} GROUP BY 1, 2`,
    )
    .all(jobId);
  const total = counts.reduce((sum, row) => sum + row.all, 0);
  if (total === 0) return { job: null, model: new Map(), server: new Map() };
  const job = new RankTally(total);
  const byModel = tallies(counts, 'model');
  const byServer = tallies(counts, 'server');
  const rows = db
    .prepare<[number], ValueRow>(`SELECT ${groupings.model} AS model, ${groupings.server} AS server, attempts > 0 AS sent, ${column} AS value FROM items WHERE ${where} ORDER BY ${column}`)
    .iterate(jobId);
  for (const row of rows) {
    job.add(row.value);
    if (row.sent === 1) {
      byModel.get(row.model)?.add(row.value);
      byServer.get(row.server)?.add(row.value);
    }
  }
  return { job: job.percentiles, model: finished(byModel), server: finished(byServer) };
}

/** A tally per group of `key`, sized by its items that sent a request. */
function tallies(counts: readonly CountRow[], key: 'model' | 'server'): Map<string, RankTally> {
  const sizes = new Map<string, number>();
  for (const row of counts) sizes.set(row[key], (sizes.get(row[key]) ?? 0) + row.sent);
  const result = new Map<string, RankTally>();
  for (const [group, size] of sizes) if (size > 0) result.set(group, new RankTally(size));
  return result;
}

function finished(tallies: ReadonlyMap<string, RankTally>): Map<string, Percentiles> {
  return new Map([...tallies].map(([group, tally]) => [group, tally.percentiles]));
}
