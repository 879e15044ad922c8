import type BetterSqlite3 from 'better-sqlite3';
import type { Percentiles } from './job-stats.js';
import { hasTable } from './samples.js';

/** Requests sent one way (one at a time, or through the pool), and how fast they came back. */
export interface BenchPhase {
  readonly requests: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  readonly wallMs: number;
  readonly requestsPerS: number;
  readonly completionTokens: number;
  readonly tokensPerS: number;
  readonly latencyMs: Percentiles;
}

/** What one `batch bench` measured. */
export interface BenchResult {
  /** The server URL, or the model file. */
  readonly target: string;
  readonly kind: 'server' | 'model';
  /** Managed model: each cold start's load time (process start to ready), in milliseconds; empty for a server. */
  readonly coldLoadsMs: readonly number[];
  /** The first request's latency (on a server it may include a load the server does lazily). */
  readonly firstRequestMs: number;
  /** Warm, one request at a time. */
  readonly sequential: BenchPhase;
  /** The same prompts through the worker pool at the advised worker count. */
  readonly pool: BenchPhase;
  /** Pool requests per second over sequential ones. */
  readonly speedUp: number;
}

/** A saved bench. */
export interface BenchRecord extends BenchResult {
  readonly id: number;
  readonly jobId: number;
  /** Epoch milliseconds. */
  readonly at: number;
}

/** Saves a bench result in the job database. */
export function recordBench(db: BetterSqlite3.Database, jobId: number, at: number, result: BenchResult): number {
  const row = db.prepare('INSERT INTO benches (job_id, at, target, result) VALUES (?, ?, ?, ?)').run(jobId, at, result.target, JSON.stringify(result));
  return Number(row.lastInsertRowid);
}

/** A job's benches, oldest first; none for a database from before benches were kept, or rows it cannot read. */
export function readBenches(db: BetterSqlite3.Database, jobId: number): BenchRecord[] {
  if (!hasTable(db, 'benches')) return [];
  const rows = db.prepare<[number], { id: number; job_id: number; at: number; result: string }>('SELECT id, job_id, at, result FROM benches WHERE job_id = ? ORDER BY at, id').all(jobId);
  const benches: BenchRecord[] = [];
  for (const row of rows) {
    try {
      const result = JSON.parse(row.result) as BenchResult;
      if (typeof result.sequential?.requestsPerS === 'number' && typeof result.pool?.requestsPerS === 'number') benches.push({ ...result, id: row.id, jobId: row.job_id, at: row.at });
    } catch {
      // A row a newer batch wrote in another shape: left out, not a crash of the report.
    }
  }
  return benches;
}
