import type BetterSqlite3 from 'better-sqlite3';
import { checkWholeNumber, optionError } from '../util/check-option.js';
import type { PromptEndpoint, PromptItem } from '../prompts/prompt-item.js';
import type { PendingItemsOptions, PendingModel } from './store-records.js';

/** A reader of pending items: iterated synchronously by the scheduler, or with `for await`. */
export type PendingItems = Iterable<PromptItem> & AsyncIterable<PromptItem>;

interface PendingRow {
  readonly custom_id: string;
  readonly idx: number;
  readonly source: string;
  readonly endpoint: PromptEndpoint;
  readonly body: string;
  readonly priority: number;
}

/** Where a page of pending items starts: after the last one read, in (priority desc, idx) order. */
interface PendingPageKey {
  readonly jobId: number;
  readonly model: string | null;
  readonly afterIndex: number;
  readonly beforeIndex: number;
  /** The last item read (nextPage only). */
  readonly priority: number;
  readonly idx: number;
  readonly limit: number;
}

/** What decides the next prompt to send. */
export interface DispatchStatements {
  readonly pendingModels: BetterSqlite3.Statement<[number], PendingModel>;
  /** The first page of a reader. */
  readonly firstPage: (key: PendingPageKey) => PendingRow[];
  /** The page after the item `key` names. */
  readonly nextPage: (key: PendingPageKey) => PendingRow[];
  readonly endOfItems: BetterSqlite3.Statement<[number], number>;
}

/** Needs migration 024_item_priority, which read-only opens may lack. */
export function prepareDispatchStatements(db: BetterSqlite3.Database): DispatchStatements {
  // Models by the highest priority waiting for them, then input order of first use.
  const pendingModels = db.prepare<[number], PendingModel>(
    `SELECT model, count(*) AS pending, max(priority) AS priority FROM items
     WHERE job_id = ? AND status = 'pending' AND duplicate_of IS NULL AND invalid = 0
     GROUP BY model ORDER BY max(priority) DESC, min(idx)`,
  );
  // Keyset pages in (priority desc, idx) order, served by items_pending_priority. A later page is
  // two index seeks (the rest of the last priority, then the lower ones): one query with an OR
  // would walk the last priority's rows from its start on every page.
  const page = (after: string) =>
    db.prepare<[PendingPageKey], PendingRow>(
      `SELECT custom_id, idx, source, endpoint, body, priority FROM items INDEXED BY items_pending_priority
       WHERE job_id = @jobId AND model IS @model AND status = 'pending' AND duplicate_of IS NULL AND invalid = 0
         AND idx < @beforeIndex ${after}
       ORDER BY priority DESC, idx LIMIT @limit`,
    );
  // One lower bound on idx each: with two, SQLite may seek by the lower one (@idx > @afterIndex).
  const firstPage = page('AND idx > @afterIndex');
  const samePriority = page('AND priority = @priority AND idx > @idx');
  const lowerPriority = page('AND priority < @priority AND idx > @afterIndex');
  const endOfItems = db.prepare<[number], number>('SELECT coalesce(max(idx), -1) + 1 FROM items WHERE job_id = ?').pluck();
  const nextPage = (key: PendingPageKey): PendingRow[] => {
    const same = samePriority.all(key);
    return same.length >= key.limit ? same : [...same, ...lowerPriority.all({ ...key, limit: key.limit - same.length })];
  };
  return { pendingModels, firstPage: (key) => firstPage.all(key), nextPage, endOfItems };
}

const defaultPageSize = 500;

export function validatePageSize(pageSize: number | undefined): number {
  return checkWholeNumber('pageSize', pageSize ?? defaultPageSize, 1);
}

/**
 * The pending items of one model (see `ItemQueries.pendingItems`), a page at a time,
 * synchronously. Checks its options and prepares its statements when the first item is asked for.
 */
export function* readPendingPages(statements: () => DispatchStatements, jobId: number, options: PendingItemsOptions): Generator<PromptItem, unknown> {
  const pageSize = validatePageSize(options.pageSize);
  const model = options.model;
  if (model !== null && typeof model !== 'string') {
    throw optionError('model', 'a string or null', model);
  }
  const afterIndex = options.afterIndex ?? -1;
  if (!Number.isInteger(afterIndex)) throw optionError('afterIndex', 'an integer', afterIndex);
  const { firstPage, nextPage, endOfItems } = statements();
  const beforeIndex = endOfItems.get(jobId) ?? 0;
  for (let page = firstPage, last: PendingRow | undefined; ; page = nextPage) {
    const rows = page({ jobId, model, afterIndex, beforeIndex, priority: last?.priority ?? 0, idx: last?.idx ?? -1, limit: pageSize });
    for (const row of rows) {
      last = row;
      if (options.excludeIds?.has(row.custom_id) === true) continue;
      yield {
        customId: row.custom_id,
        index: row.idx,
        source: row.source,
        endpoint: row.endpoint,
        body: JSON.parse(row.body) as Record<string, unknown>,
        priority: row.priority,
      };
    }
    if (rows.length < pageSize) return;
  }
}

