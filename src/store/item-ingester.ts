import type BetterSqlite3 from 'better-sqlite3';
import { PromptError } from '../errors.js';
import type { InvalidPrompt, PromptItem, PromptRecord } from '../prompts/prompt-item.js';
import { readInChunks } from '../util/read-in-chunks.js';
import type { IngestOptions } from './ingest-options.js';
import { isDeterministic, requestHash } from './request-hash.js';
import { SeenIds } from './seen-ids.js';

export type { IngestChunk, IngestOptions } from './ingest-options.js';

/** What `ingest` found, compared with what the job already held. */
export interface IngestSummary {
  /** Records read. */
  readonly total: number;
  /** Items new to the job (valid ones; invalid ones count in `invalid`). */
  readonly added: number;
  /** Items whose request is the same as stored (their status is kept). */
  readonly unchanged: number;
  /** Items whose request differs from the stored one: reset to pending as new work. */
  readonly changed: number;
  /** The first 20 changed custom ids, to show the user. */
  readonly changedIds: readonly string[];
  /** Records that could not be read; stored as failed with `PROMPT_INVALID`. */
  readonly invalid: number;
  /** Unchanged items already done: they are not sent again. */
  readonly alreadyDone: number;
  /** Items whose request equals an earlier deterministic item: they get its answer. */
  readonly duplicates: number;
  /**
   * Items of the job no longer in its inputs: moved out of its items (and so out of its counts and
   * output) into `superseded_items`. Unreadable lines that are gone (fixed, or removed) are dropped.
   */
  readonly superseded: number;
  /** The first 20 superseded custom ids, to show the user. */
  readonly supersededIds: readonly string[];
  /** Reading was stopped (`signal`) before the inputs' end: the job holds only what was read. */
  readonly stopped: boolean;
}

/** Rows per transaction: large enough for throughput, small enough to keep memory flat. */
const chunkSize = 1000;
const maxChangedIds = 20;

interface ExistingRow {
  readonly idx: number;
  readonly source: string;
  readonly request_hash: string | null;
  readonly status: string;
  readonly invalid: number;
  readonly error_message: string | null;
  readonly duplicate_of: string | null;
  readonly row_data: string | null;
}

interface Counters {
  /** Of the chunk being written: see IngestChunk. */
  chunkPending: number;
  chunkModels: Set<string | null>;
  total: number;
  added: number;
  unchanged: number;
  changed: number;
  changedIds: string[];
  invalid: number;
  alreadyDone: number;
  duplicates: number;
  superseded: number;
  supersededIds: string[];
}

const clearedResult = `
  cached = 0, attempts = 0, response = NULL, error_code = NULL, error_message = NULL,
  endpoint_url = NULL, served_model = NULL, prompt_tokens = NULL, completion_tokens = NULL,
  latency_ms = NULL, ttft_ms = NULL, model_load_ms = NULL, started_at = NULL, answer = NULL,
  queue_wait_ms = NULL, retry_causes = NULL`;

/**
 * Loads prompt records into a job's items, comparing each with what is stored so that a resumed
 * job keeps finished work, redoes changed prompts and records unreadable ones as failures.
 */
export class ItemIngester {
  readonly #db: BetterSqlite3.Database;
  readonly #selectExisting: BetterSqlite3.Statement<[number, string], ExistingRow>;
  readonly #findPrimary: BetterSqlite3.Statement<[string, number, string], string>;
  readonly #insertItem: BetterSqlite3.Statement;
  readonly #insertInvalid: BetterSqlite3.Statement;
  readonly #resetChanged: BetterSqlite3.Statement;
  readonly #markInvalid: BetterSqlite3.Statement;
  readonly #moveItem: BetterSqlite3.Statement;
  readonly #duplicatesOf: BetterSqlite3.Statement<[number, string], string>;
  readonly #setDuplicateOf: BetterSqlite3.Statement;
  readonly #copyFinishedPrimaries: BetterSqlite3.Statement<[number, number]>;
  readonly #insertItemOnce: BetterSqlite3.Statement;
  readonly #hasItem: BetterSqlite3.Statement<[number, string], number>;
  readonly #touchJob: BetterSqlite3.Statement;
  readonly #hasItems: BetterSqlite3.Statement<[number], number>;
  readonly #forgetRestored: BetterSqlite3.Statement<[number, number]>;
  readonly #seen: SeenIds;
  /** The job had no items when this ingest began: nothing to compare with, so no lookups. */
  #fresh = false;
  #options: IngestOptions = {};
  readonly #ingestChunk: BetterSqlite3.Transaction<(jobId: number, chunk: readonly PromptRecord[], counters: Counters) => void>;

  constructor(db: BetterSqlite3.Database) {
    this.#db = db;
    this.#selectExisting = db.prepare(
      `SELECT idx, source, request_hash, status, invalid, error_message, duplicate_of, row_data
       FROM items WHERE job_id = ? AND custom_id = ?`,
    );
    this.#findPrimary = db
      .prepare<[string, number, string], string>(
        // INDEXED BY: without statistics the planner prefers walking the job in idx order, which
        // is quadratic over a batch of deterministic prompts.
        `SELECT custom_id FROM items INDEXED BY items_request_hash
         WHERE request_hash = ? AND job_id = ? AND custom_id != ?
           AND deterministic = 1 AND duplicate_of IS NULL AND invalid = 0
         ORDER BY idx LIMIT 1`,
      )
      .pluck();
    this.#insertItem = db.prepare(
      `INSERT INTO items (job_id, custom_id, idx, source, endpoint, body, model, request_hash, deterministic, duplicate_of, status, row_data)
       VALUES (@jobId, @customId, @idx, @source, @endpoint, @body, @model, @hash, @deterministic, @duplicateOf, 'pending', @rowData)`,
    );
    // A job that started empty meets each id once unless the inputs repeat one: the primary key finds it.
    this.#insertItemOnce = db.prepare(
      `INSERT INTO items (job_id, custom_id, idx, source, endpoint, body, model, request_hash, deterministic, duplicate_of, status, row_data)
       VALUES (@jobId, @customId, @idx, @source, @endpoint, @body, @model, @hash, @deterministic, @duplicateOf, 'pending', @rowData)
       ON CONFLICT (job_id, custom_id) DO NOTHING`,
    );
    this.#hasItem = db.prepare<[number, string], number>('SELECT EXISTS (SELECT 1 FROM items WHERE job_id = ? AND custom_id = ?)').pluck();
    this.#insertInvalid = db.prepare(
      `INSERT INTO items (job_id, custom_id, idx, source, status, invalid, error_code, error_message, finished_at, row_data)
       VALUES (@jobId, @customId, @idx, @source, 'failed', 1, 'PROMPT_INVALID', @message, @now, @rowData)`,
    );
    this.#resetChanged = db.prepare(
      `UPDATE items SET idx = @idx, source = @source, endpoint = @endpoint, body = @body, model = @model,
         request_hash = @hash, deterministic = @deterministic, duplicate_of = @duplicateOf, row_data = @rowData,
         status = 'pending', invalid = 0, finished_at = NULL, ${clearedResult}
       WHERE job_id = @jobId AND custom_id = @customId`,
    );
    this.#markInvalid = db.prepare(
      `UPDATE items SET idx = @idx, source = @source, row_data = @rowData, endpoint = NULL, body = NULL, model = NULL,
         request_hash = NULL, deterministic = 0, duplicate_of = NULL, status = 'failed', invalid = 1,
         ${clearedResult}, error_code = 'PROMPT_INVALID', error_message = @message, finished_at = @now
       WHERE job_id = @jobId AND custom_id = @customId`,
    );
    this.#moveItem = db.prepare('UPDATE items SET idx = ?, source = ?, row_data = ? WHERE job_id = ? AND custom_id = ?');
    this.#duplicatesOf = db
      .prepare<[number, string], string>(
        'SELECT custom_id FROM items WHERE job_id = ? AND duplicate_of = ? ORDER BY idx',
      )
      .pluck();
    this.#setDuplicateOf = db.prepare('UPDATE items SET duplicate_of = ? WHERE job_id = ? AND custom_id = ?');
    // A duplicate added after its primary finished would otherwise wait for an answer that
    // never comes again: give it the primary's result now (those from input position ? on).
    this.#copyFinishedPrimaries = db.prepare(
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
    this.#touchJob = db.prepare('UPDATE jobs SET updated_at = ? WHERE id = ?');
    this.#hasItems = db.prepare<[number], number>('SELECT EXISTS (SELECT 1 FROM items WHERE job_id = ?)').pluck();
    this.#seen = new SeenIds(db);
    // A line put back into the inputs is an item again, no longer superseded.
    this.#forgetRestored = db.prepare(
      'DELETE FROM superseded_items WHERE job_id = ? AND custom_id IN (SELECT custom_id FROM items WHERE job_id = ?)',
    );
    this.#ingestChunk = db.transaction((jobId: number, chunk: readonly PromptRecord[], counters: Counters) => {
      for (const record of chunk) {
        counters.total++;
        const customId = record.ok ? record.item.customId : record.invalid.customId;
        if (!this.#fresh && !this.#seen.mark(customId)) this.#ingestDuplicate(jobId, record, counters);
        else if (record.ok) this.#ingestItem(jobId, record.item, counters);
        else this.#ingestInvalid(jobId, record.invalid, counters);
      }
      // A duplicate whose primary finished before it was read gets the answer now, not at the end.
      if (this.#options.onChunk !== undefined && chunk.length > 0) {
        const first = chunk[0]!;
        this.#copyFinishedPrimaries.run(jobId, first.ok ? first.item.index : first.invalid.index);
      }
    });
  }

  /**
   * Reads `records` to the end, writing them in transactions of about 1000 rows; at most one such
   * chunk is held in memory, and nothing of a record once it is committed.
   */
  async ingest(jobId: number, records: AsyncIterable<PromptRecord>, options: IngestOptions = {}): Promise<IngestSummary> {
    const counters: Counters = {
      chunkPending: 0,
      chunkModels: new Set(),
      total: 0,
      added: 0,
      unchanged: 0,
      changed: 0,
      changedIds: [],
      invalid: 0,
      alreadyDone: 0,
      duplicates: 0,
      superseded: 0,
      supersededIds: [],
    };
    this.#fresh = this.#hasItems.get(jobId) === 0;
    this.#options = options;
    if (!this.#fresh) this.#seen.clear();
    const { onChunk } = options;
    const { stopped } = await readInChunks(records, {
      chunkSize,
      flushAfterMs: onChunk === undefined ? undefined : (options.flushAfterMs ?? 20),
      signal: options.signal,
      onIdle: options.onIdle,
      pause: options.pause,
      write: (chunk) => {
        this.#ingestChunk.immediate(jobId, chunk, counters);
        const pending = counters.chunkPending;
        const models = [...counters.chunkModels];
        counters.chunkPending = 0;
        counters.chunkModels.clear();
        const first = chunk[0]!;
        const last = chunk[chunk.length - 1]!;
        onChunk?.({ fromIndex: first.ok ? first.item.index : first.invalid.index, toIndex: (last.ok ? last.item.index : last.invalid.index) + 1, pending, models });
      },
    });
    this.#db
      .transaction(() => {
        // Only after every input was read to its end: an ingest that stopped early saw only part.
        if (!this.#fresh && !stopped) this.#supersede(jobId, counters);
        this.#forgetRestored.run(jobId, jobId);
        this.#copyFinishedPrimaries.run(jobId, -1);
        this.#touchJob.run(Date.now(), jobId);
      })
      .immediate();
    if (!this.#fresh) this.#seen.clear();
    const { chunkPending: _pending, chunkModels: _models, ...summary } = counters;
    return { ...summary, changedIds: [...counters.changedIds], supersededIds: [...counters.supersededIds], stopped };
  }

  /**
   * Takes out of the job every item this ingest did not read: valid ones are kept in
   * `superseded_items`, unreadable ones (a line since fixed or removed) are dropped. Their
   * duplicates get a new primary among the items that stay.
   */
  #supersede(jobId: number, counters: Counters): void {
    for (const item of this.#seen.takeOutUnseen(jobId)) {
      if (item.invalid) continue;
      counters.superseded++;
      if (counters.supersededIds.length < maxChangedIds) counters.supersededIds.push(item.customId);
      this.#handOverDuplicates(jobId, item.customId, item.duplicateOf);
    }
  }

  #ingestItem(jobId: number, item: PromptItem, counters: Counters): void {
    const hash = requestHash(item.endpoint, item.body);
    const existing = this.#fresh ? undefined : this.#selectExisting.get(jobId, item.customId);
    if (existing !== undefined && existing.request_hash === hash && existing.invalid === 0) {
      counters.unchanged++;
      if (existing.status === 'done') counters.alreadyDone++;
      if (existing.duplicate_of !== null) counters.duplicates++;
      const rowData = rowDataOf(item);
      if (existing.idx !== item.index || existing.source !== item.source || existing.row_data !== rowData) {
        this.#moveItem.run(item.index, item.source, rowData, jobId, item.customId);
      }
      return;
    }
    if (existing !== undefined) this.#handOverDuplicates(jobId, item.customId, existing.duplicate_of);
    const deterministic = isDeterministic(item.body);
    const duplicateOf = deterministic ? (this.#findPrimary.get(hash, jobId, item.customId) ?? null) : null;
    if (duplicateOf !== null) counters.duplicates++;
    const row = {
      jobId,
      customId: item.customId,
      idx: item.index,
      source: item.source,
      endpoint: item.endpoint,
      body: JSON.stringify(item.body),
      model: typeof item.body.model === 'string' ? item.body.model : null,
      hash,
      deterministic: deterministic ? 1 : 0,
      duplicateOf,
      rowData: rowDataOf(item),
    };
    if (existing === undefined) {
      if (this.#fresh) {
        if (this.#insertItemOnce.run(row).changes === 0) return this.#ingestDuplicate(jobId, { ok: true, item }, counters);
      } else this.#insertItem.run(row);
      counters.added++;
      counters.chunkPending++;
      if (duplicateOf === null) counters.chunkModels.add(row.model);
    } else {
      this.#resetChanged.run(row);
      counters.changed++;
      counters.chunkPending++;
      if (duplicateOf === null) counters.chunkModels.add(row.model);
      if (counters.changedIds.length < maxChangedIds) counters.changedIds.push(item.customId);
    }
  }

  #ingestInvalid(jobId: number, invalid: InvalidPrompt, counters: Counters): void {
    const existing = this.#selectExisting.get(jobId, invalid.customId);
    if (this.#fresh && existing !== undefined) return this.#ingestDuplicate(jobId, { ok: false, invalid }, counters);
    counters.invalid++;
    const row = {
      jobId,
      customId: invalid.customId,
      idx: invalid.index,
      source: invalid.source,
      message: invalid.message,
      now: Date.now(),
      rowData: rowDataOf(invalid),
    };
    if (existing === undefined) {
      this.#insertInvalid.run(row);
      return;
    }
    if (existing.invalid === 1 && existing.error_message === invalid.message) {
      if (existing.idx !== invalid.index || existing.source !== invalid.source || existing.row_data !== row.rowData) {
        this.#moveItem.run(invalid.index, invalid.source, row.rowData, jobId, invalid.customId);
      }
      return;
    }
    this.#handOverDuplicates(jobId, invalid.customId, existing.duplicate_of);
    this.#markInvalid.run(row);
  }

  /**
   * A custom_id this ingest met before. Before anything was sent the inputs are refused, as the
   * readers refused them; after, only this line fails: it is stored as an unreadable line, under
   * its place in the inputs (the id belongs to the first).
   */
  #ingestDuplicate(jobId: number, record: PromptRecord, counters: Counters): void {
    const { customId, index, source } = record.ok ? record.item : record.invalid;
    const first = this.#selectExisting.get(jobId, customId)?.source ?? 'an earlier line';
    const detail = `duplicate custom_id ${JSON.stringify(customId)} (first at ${first}); custom_ids must be unique within a job: rename one`;
    if (this.#options.duplicateFailsLine?.() !== true) throw new PromptError('DUPLICATE_CUSTOM_ID', source, detail);
    let key = source;
    for (let n = 2; this.#hasItem.get(jobId, key) === 1; n++) key = `${source}#${n}`;
    if (!this.#fresh) this.#seen.mark(key);
    const message = `${source}: ${detail}`;
    this.#insertInvalid.run({ jobId, customId: key, idx: index, source, message, now: Date.now(), rowData: rowDataOf(record.ok ? record.item : record.invalid) });
    counters.invalid++;
    this.#options.onLineError?.(message);
  }

  /**
   * An item whose request changes stops being the primary of its duplicates: the first of them
   * (in input order) takes over, and the rest point at it. Their results, if any, stay valid:
   * they still describe their own, unchanged request.
   */
  #handOverDuplicates(jobId: number, customId: string, duplicateOf: string | null): void {
    if (duplicateOf !== null) return;
    const duplicates = this.#duplicatesOf.all(jobId, customId);
    const [heir, ...rest] = duplicates;
    if (heir === undefined) return;
    this.#setDuplicateOf.run(null, jobId, heir);
    for (const other of rest) this.#setDuplicateOf.run(heir, jobId, other);
  }
}

/** `items.row_data`: the --data row as JSON (see RowData), or NULL for prompts read from prompt files. */
function rowDataOf(record: PromptItem | InvalidPrompt): string | null {
  return record.rowData === undefined ? null : JSON.stringify(record.rowData);
}
