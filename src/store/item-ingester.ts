import type BetterSqlite3 from 'better-sqlite3';
import { PromptError } from '../errors.js';
import type { InvalidPrompt, PromptItem, PromptRecord } from '../prompts/prompt-item.js';
import { readInChunks } from '../util/read-in-chunks.js';
import type { IngestOptions } from './ingest-options.js';
import { isDeterministic, requestHash } from './request-hash.js';
import { SeenIds } from './seen-ids.js';
import { prepareIngestStatements, type IngestStatements, type NewItemValues } from './ingest-statements.js';
import type { IngestSummary } from './ingest-summary.js';
import { DEFAULT_PRIORITY } from '../prompts/prompt-priority.js';

export type { IngestChunk, IngestOptions } from './ingest-options.js';
export type { IngestSummary } from './ingest-summary.js';

/** Rows per transaction: large enough for throughput, small enough to keep memory flat. */
const chunkSize = 1000;
const maxChangedIds = 20;

interface Counters {
  /** Of the chunk being written: see IngestChunk. */
  chunkPending: number;
  /** Each model of the chunk's sendable items, with the highest priority among them. */
  chunkModels: Map<string | null, number>;
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

/**
 * Loads prompt records into a job's items, comparing each with what is stored so that a resumed
 * job keeps finished work, redoes changed prompts and records unreadable ones as failures.
 */
export class ItemIngester {
  readonly #db: BetterSqlite3.Database;
  readonly #sql: IngestStatements;
  readonly #seen: SeenIds;
  /** The job had no items when this ingest began: nothing to compare with, so no lookups. */
  #fresh = false;
  #options: IngestOptions = {};
  readonly #ingestChunk: BetterSqlite3.Transaction<(jobId: number, chunk: readonly PromptRecord[], counters: Counters) => void>;

  constructor(db: BetterSqlite3.Database) {
    this.#db = db;
    this.#sql = prepareIngestStatements(db);
    this.#seen = new SeenIds(db);
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
        this.#sql.copyFinishedPrimaries.run(jobId, first.ok ? first.item.index : first.invalid.index);
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
      chunkModels: new Map(),
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
    this.#fresh = this.#sql.hasItems.get(jobId) === 0;
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
        const models = [...counters.chunkModels.keys()];
        const topPriorities = new Map(counters.chunkModels);
        counters.chunkPending = 0;
        counters.chunkModels.clear();
        const first = chunk[0]!;
        const last = chunk[chunk.length - 1]!;
        onChunk?.({ fromIndex: first.ok ? first.item.index : first.invalid.index, toIndex: (last.ok ? last.item.index : last.invalid.index) + 1, pending, models, topPriorities });
      },
    });
    this.#db
      .transaction(() => {
        // Only after every input was read to its end: an ingest that stopped early saw only part.
        if (!this.#fresh && !stopped) this.#supersede(jobId, counters);
        this.#sql.forgetRestored.run(jobId, jobId);
        this.#sql.copyFinishedPrimaries.run(jobId, -1);
        this.#sql.touchJob.run(Date.now(), jobId);
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
    const priority = item.priority ?? DEFAULT_PRIORITY;
    const existing = this.#fresh ? undefined : this.#sql.selectExisting.get(jobId, item.customId);
    if (existing !== undefined && existing.request_hash === hash && existing.invalid === 0) {
      counters.unchanged++;
      if (existing.status === 'done') counters.alreadyDone++;
      if (existing.duplicate_of !== null) counters.duplicates++;
      const rowData = rowDataOf(item);
      if (existing.idx !== item.index || existing.source !== item.source || existing.row_data !== rowData || existing.priority !== priority) {
        this.#sql.moveItem.run(item.index, item.source, rowData, priority, jobId, item.customId);
      }
      return;
    }
    if (existing !== undefined) this.#handOverDuplicates(jobId, item.customId, existing.duplicate_of);
    const deterministic = isDeterministic(item.body);
    const duplicateOf = deterministic ? (this.#sql.findPrimary.get(hash, jobId, item.customId) ?? null) : null;
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
      deterministic: deterministic ? (1 as const) : (0 as const),
      duplicateOf,
      rowData: rowDataOf(item),
      priority,
    };
    if (existing === undefined) {
      const values: NewItemValues = [jobId, row.customId, row.idx, row.source, row.endpoint, row.body, row.model, hash, row.deterministic, duplicateOf, row.rowData, priority];
      if (this.#fresh) {
        if (this.#sql.insertItemOnce.run(...values).changes === 0) return this.#ingestDuplicate(jobId, { ok: true, item }, counters);
      } else this.#sql.insertItem.run(...values);
      counters.added++;
      counters.chunkPending++;
      if (duplicateOf === null) addModel(counters, row.model, priority);
    } else {
      this.#sql.resetChanged.run(row);
      counters.changed++;
      counters.chunkPending++;
      if (duplicateOf === null) addModel(counters, row.model, priority);
      if (counters.changedIds.length < maxChangedIds) counters.changedIds.push(item.customId);
    }
  }

  #ingestInvalid(jobId: number, invalid: InvalidPrompt, counters: Counters): void {
    const existing = this.#sql.selectExisting.get(jobId, invalid.customId);
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
      this.#sql.insertInvalid.run(row);
      return;
    }
    if (existing.invalid === 1 && existing.error_message === invalid.message) {
      if (existing.idx !== invalid.index || existing.source !== invalid.source || existing.row_data !== row.rowData) {
        this.#sql.moveItem.run(invalid.index, invalid.source, row.rowData, existing.priority, jobId, invalid.customId);
      }
      return;
    }
    this.#handOverDuplicates(jobId, invalid.customId, existing.duplicate_of);
    this.#sql.markInvalid.run(row);
  }

  /**
   * A custom_id this ingest met before. Before anything was sent the inputs are refused, as the
   * readers refused them; after, only this line fails: it is stored as an unreadable line, under
   * its place in the inputs (the id belongs to the first).
   */
  #ingestDuplicate(jobId: number, record: PromptRecord, counters: Counters): void {
    const { customId, index, source } = record.ok ? record.item : record.invalid;
    const first = this.#sql.selectExisting.get(jobId, customId)?.source ?? 'an earlier line';
    const detail = `duplicate custom_id ${JSON.stringify(customId)} (first at ${first}); custom_ids must be unique within a job: rename one`;
    if (this.#options.duplicateFailsLine?.() !== true) throw new PromptError('DUPLICATE_CUSTOM_ID', source, detail);
    let key = source;
    for (let n = 2; this.#sql.hasItem.get(jobId, key) === 1; n++) key = `${source}#${n}`;
    if (!this.#fresh) this.#seen.mark(key);
    const message = `${source}: ${detail}`;
    this.#sql.insertInvalid.run({ jobId, customId: key, idx: index, source, message, now: Date.now(), rowData: rowDataOf(record.ok ? record.item : record.invalid) });
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
    const duplicates = this.#sql.duplicatesOf.all(jobId, customId);
    const [heir, ...rest] = duplicates;
    if (heir === undefined) return;
    this.#sql.setDuplicateOf.run(null, jobId, heir);
    for (const other of rest) this.#sql.setDuplicateOf.run(heir, jobId, other);
  }
}

/** `items.row_data`: the --data row as JSON (see RowData), or NULL for prompts read from prompt files. */
function rowDataOf(record: PromptItem | InvalidPrompt): string | null {
  return record.rowData === undefined ? null : JSON.stringify(record.rowData);
}

/** Counts a sendable item's model in the chunk, with the highest priority seen for it. */
function addModel(counters: Counters, model: string | null, priority: number): void {
  const top = counters.chunkModels.get(model);
  if (top === undefined || priority > top) counters.chunkModels.set(model, priority);
}
