import type BetterSqlite3 from 'better-sqlite3';

/** What the job holds of an item the inputs name again. */
export interface ExistingRow {
  readonly idx: number;
  readonly source: string;
  readonly request_hash: string | null;
  readonly status: string;
  readonly invalid: number;
  readonly error_message: string | null;
  readonly duplicate_of: string | null;
  readonly row_data: string | null;
  readonly priority: number;
}

/**
 * A new item's columns, in the order `insertItem` and `insertItemOnce` bind them: job_id,
 * custom_id, idx, source, endpoint, body, model, request_hash, deterministic, duplicate_of,
 * row_data, priority.
 */
export type NewItemValues = [number, string, number, string, string, string, string | null, string, 0 | 1, string | null, string | null, number];

/** The columns of a result, cleared: an item reset to pending or marked unreadable holds none. */
const clearedResult = `
  cached = 0, attempts = 0, response = NULL, error_code = NULL, error_message = NULL,
  endpoint_url = NULL, served_model = NULL, prompt_tokens = NULL, completion_tokens = NULL,
  latency_ms = NULL, ttft_ms = NULL, model_load_ms = NULL, started_at = NULL, answer = NULL,
  queue_wait_ms = NULL, retry_causes = NULL, fallback_from = NULL, fallback_reason = NULL`;

/** The statements `ItemIngester` runs, prepared once per connection. */
export interface IngestStatements {
  readonly selectExisting: BetterSqlite3.Statement<[number, string], ExistingRow>;
  readonly findPrimary: BetterSqlite3.Statement<[string, number, string], string>;
  readonly insertItem: BetterSqlite3.Statement<NewItemValues>;
  readonly insertInvalid: BetterSqlite3.Statement;
  readonly resetChanged: BetterSqlite3.Statement;
  readonly markInvalid: BetterSqlite3.Statement;
  readonly moveItem: BetterSqlite3.Statement;
  readonly duplicatesOf: BetterSqlite3.Statement<[number, string], string>;
  readonly setDuplicateOf: BetterSqlite3.Statement;
  readonly copyFinishedPrimaries: BetterSqlite3.Statement<[number, number]>;
  readonly insertItemOnce: BetterSqlite3.Statement<NewItemValues>;
  readonly hasItem: BetterSqlite3.Statement<[number, string], number>;
  readonly touchJob: BetterSqlite3.Statement;
  readonly hasItems: BetterSqlite3.Statement<[number], number>;
  readonly forgetRestored: BetterSqlite3.Statement<[number, number]>;
}

/** The statements that insert, reset and move the items an ingest reads. */
function prepareItemWrites(db: BetterSqlite3.Database) {
  // Positional parameters (`NewItemValues`' order): better-sqlite3 binds an array about twice as
  // fast as named ones from an object, and every prompt read goes through one of these.
  const insertItem = db.prepare<NewItemValues>(
    `INSERT INTO items (job_id, custom_id, idx, source, endpoint, body, model, request_hash, deterministic, duplicate_of, status, row_data, priority)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
  );
  // A job that started empty meets each id once unless the inputs repeat one: the primary key finds it.
  const insertItemOnce = db.prepare<NewItemValues>(
    `INSERT INTO items (job_id, custom_id, idx, source, endpoint, body, model, request_hash, deterministic, duplicate_of, status, row_data, priority)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
     ON CONFLICT (job_id, custom_id) DO NOTHING`,
  );
  const hasItem = db.prepare<[number, string], number>('SELECT EXISTS (SELECT 1 FROM items WHERE job_id = ? AND custom_id = ?)').pluck();
  const insertInvalid = db.prepare(
    `INSERT INTO items (job_id, custom_id, idx, source, status, invalid, error_code, error_message, finished_at, row_data)
     VALUES (@jobId, @customId, @idx, @source, 'failed', 1, 'PROMPT_INVALID', @message, @now, @rowData)`,
  );
  const resetChanged = db.prepare(
    `UPDATE items SET idx = @idx, source = @source, endpoint = @endpoint, body = @body, model = @model,
       request_hash = @hash, deterministic = @deterministic, duplicate_of = @duplicateOf, row_data = @rowData,
       priority = @priority, status = 'pending', invalid = 0, finished_at = NULL, ${clearedResult}
     WHERE job_id = @jobId AND custom_id = @customId`,
  );
  const markInvalid = db.prepare(
    `UPDATE items SET idx = @idx, source = @source, row_data = @rowData, endpoint = NULL, body = NULL, model = NULL,
       request_hash = NULL, deterministic = 0, duplicate_of = NULL, status = 'failed', invalid = 1,
       ${clearedResult}, error_code = 'PROMPT_INVALID', error_message = @message, finished_at = @now
     WHERE job_id = @jobId AND custom_id = @customId`,
  );
  // A line that moved, or whose priority changed: the priority orders what is still to send, it
  // does not change the request, so an answered prompt keeps its answer.
  const moveItem = db.prepare('UPDATE items SET idx = ?, source = ?, row_data = ?, priority = ? WHERE job_id = ? AND custom_id = ?');
  return { insertItem, insertItemOnce, hasItem, insertInvalid, resetChanged, markInvalid, moveItem };
}

/** The statements that find and maintain duplicates: deterministic items with the request of an earlier one. */
function prepareDuplicateStatements(db: BetterSqlite3.Database) {
  const findPrimary = db
    .prepare<[string, number, string], string>(
      // INDEXED BY: without statistics the planner prefers walking the job in idx order, which
      // is quadratic over a batch of deterministic prompts.
      `SELECT custom_id FROM items INDEXED BY items_request_hash
       WHERE request_hash = ? AND job_id = ? AND custom_id != ?
         AND deterministic = 1 AND duplicate_of IS NULL AND invalid = 0
       ORDER BY idx LIMIT 1`,
    )
    .pluck();
  const duplicatesOf = db
    .prepare<[number, string], string>(
      'SELECT custom_id FROM items WHERE job_id = ? AND duplicate_of = ? ORDER BY idx',
    )
    .pluck();
  const setDuplicateOf = db.prepare('UPDATE items SET duplicate_of = ? WHERE job_id = ? AND custom_id = ?');
  // A duplicate added after its primary finished would otherwise wait for an answer that
  // never comes again: give it the primary's result now (those from input position ? on).
  const copyFinishedPrimaries = db.prepare<[number, number]>(
    `UPDATE items AS d SET
       (status, response, error_code, error_message, endpoint_url, served_model, prompt_tokens,
        completion_tokens, finished_at, answer) =
       (SELECT p.status, p.response, p.error_code, p.error_message, p.endpoint_url, p.served_model,
               p.prompt_tokens, p.completion_tokens, p.finished_at, p.answer
        FROM items AS p WHERE p.job_id = d.job_id AND p.custom_id = d.duplicate_of)
     WHERE d.job_id = ? AND d.idx >= ? AND d.duplicate_of IS NOT NULL AND d.status = 'pending'
       AND EXISTS (SELECT 1 FROM items AS p
                   WHERE p.job_id = d.job_id AND p.custom_id = d.duplicate_of AND p.status IN ('done', 'failed'))`,
  );
  return { findPrimary, duplicatesOf, setDuplicateOf, copyFinishedPrimaries };
}

/** Prepares the statements of an ingest on `db`. */
export function prepareIngestStatements(db: BetterSqlite3.Database): IngestStatements {
  const selectExisting = db.prepare<[number, string], ExistingRow>(
    `SELECT idx, source, request_hash, status, invalid, error_message, duplicate_of, row_data, priority
     FROM items WHERE job_id = ? AND custom_id = ?`,
  );
  const touchJob = db.prepare('UPDATE jobs SET updated_at = ? WHERE id = ?');
  const hasItems = db.prepare<[number], number>('SELECT EXISTS (SELECT 1 FROM items WHERE job_id = ?)').pluck();
  // A line put back into the inputs is an item again, no longer superseded.
  const forgetRestored = db.prepare<[number, number]>(
    'DELETE FROM superseded_items WHERE job_id = ? AND custom_id IN (SELECT custom_id FROM items WHERE job_id = ?)',
  );
  return { selectExisting, touchJob, hasItems, forgetRestored, ...prepareItemWrites(db), ...prepareDuplicateStatements(db) };
}
