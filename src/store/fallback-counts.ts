import type BetterSqlite3 from 'better-sqlite3';

/** Prompts of one model that another answered (`--fallback`), and why. */
export interface FallbackCount {
  /** The prompts' own model. */
  readonly from: string;
  /** The model that answered them. */
  readonly model: string | null;
  /** Why `from` was not served, in words that follow "model from's". */
  readonly reason: string | null;
  readonly count: number;
}

/** A job's answered prompts that a fallback model answered, by own model, answering model and reason. */
export function fallbackCounts(db: BetterSqlite3.Database, jobId: number): FallbackCount[] {
  return db
    .prepare<[number], FallbackCount>(
      `SELECT fallback_from AS "from", served_model AS model, fallback_reason AS reason, count(*) AS count
       FROM items WHERE job_id = ? AND status = 'done' AND fallback_from IS NOT NULL
       GROUP BY fallback_from, served_model, fallback_reason ORDER BY count DESC, fallback_from`,
    )
    .all(jobId);
}
