import type BetterSqlite3 from 'better-sqlite3';
import type { PositionedRow, ReadOutputPage } from '../output/finished-prefix.js';

/**
 * The page query `OutputAppender` reads a job through: its items with `after < idx < before`, in
 * input order, at most `limit`, with the columns an output line is made of. Prepared once, on the
 * connection of the result writer that grows the output.
 */
export function prepareOutputPage(db: BetterSqlite3.Database, jobId: number): ReadOutputPage {
  const page = db.prepare<[number, number, number, number], PositionedRow>(
    `SELECT idx, custom_id AS customId, status, response, error_code AS errorCode, error_message AS errorMessage, answer,
       served_model AS servedModel, fallback_from AS fallbackFrom FROM items
     WHERE job_id = ? AND idx > ? AND idx < ? ORDER BY idx LIMIT ?`,
  );
  return (after, before, limit) => page.all(jobId, after, before, limit);
}
