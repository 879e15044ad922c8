import type BetterSqlite3 from 'better-sqlite3';
import { groupings, warmLoadMs } from './group-stats.js';
import { sentAt } from './item-series.js';

interface LoadedRow {
  readonly model_key: string;
  readonly url_key: string;
  /** When the model was ready for this request: its sending plus the load time it reported (ms). */
  readonly ready_at: number;
  readonly load_ms: number;
}

/**
 * The model loads servers reported (Ollama's `load_duration`), once per load. Every request that
 * waited for a load reports one, with the time it waited: those that shared a load became ready
 * together, when the load ended. So per model and server, answers sorted by the moment their model
 * was ready make one load while each is ready within half its own wait of the load's end; a load
 * that began after it (the model unloaded, `keep_alive` 0 or an eviction) ends at least its whole
 * duration later. Answers below `warmLoadMs` found the model loaded and count none.
 */
export function countReportedLoads(db: BetterSqlite3.Database, jobId: number): number {
  const rows = db
    .prepare<[number, number], LoadedRow>(
      `SELECT ${groupings.model} AS model_key, coalesce(endpoint_url, '') AS url_key,
         ${sentAt} + model_load_ms AS ready_at, model_load_ms AS load_ms
       FROM items
       WHERE job_id = ? AND attempts > 0 AND status = 'done' AND model_load_ms >= ?
       ORDER BY model_key, url_key, ready_at`,
    )
    .iterate(jobId, warmLoadMs);
  let loads = 0;
  let last: { model: string; url: string; endAt: number } | undefined;
  for (const row of rows) {
    const sameLoad = last !== undefined && last.model === row.model_key && last.url === row.url_key && row.ready_at - last.endAt < row.load_ms / 2;
    if (sameLoad) continue;
    loads += 1;
    last = { model: row.model_key, url: row.url_key, endAt: row.ready_at };
  }
  return loads;
}
