import type { OutputRow } from './output-line.js';

/** An item of the job at its input position, finished or not, as `OutputAppender` reads it. */
export interface PositionedRow extends Omit<OutputRow, 'status'> {
  /** Its input position. */
  readonly idx: number;
  /** `done` and `failed` are finished; anything else (`pending`, `running`) is not. */
  readonly status: string;
}

/**
 * The job's items with `after < idx < before`, in input order, at most `limit` of them. The store
 * provides it (`prepareOutputPage`): the output formats read no database of their own.
 */
export type ReadOutputPage = (after: number, before: number, limit: number) => readonly PositionedRow[];

/** Why a walk over the finished prefix stopped: an item not finished, the end of what is known so far, or the end of the job. */
export type PrefixEnd = 'unfinished' | 'unknown' | 'end';

/** A finished row: its status is `done` or `failed`. */
export type FinishedRow = PositionedRow & { readonly status: 'done' | 'failed' };

/** Rows read per page. */
const pageSize = 500;
/** No item is at or past this position. */
const noBound = Number.MAX_SAFE_INTEGER;

/**
 * A job's finished prefix, read a page at a time: the items in input order up to the first one
 * not finished yet. Only items whose input position is known and final count (`knownBefore`,
 * `readingEnded`): while the inputs are still being read, a later item may take a position
 * between two read ones.
 */
export class FinishedPrefix {
  readonly #readPage: ReadOutputPage;
  #knownBefore = 0;
  #ended = false;

  constructor(readPage: ReadOutputPage) {
    this.#readPage = readPage;
  }

  /** Whether every item's position is final (`readingEnded` was called). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Items at input positions below `idx` are all in the database and stay where they are. */
  knownBefore(idx: number): void {
    this.#knownBefore = Math.max(this.#knownBefore, idx);
  }

  /** Every input has been read and recorded: every item's position is final. */
  readingEnded(): void {
    this.#ended = true;
  }

  /** The finished prefix after input position `after`; `end.reason` says why it stopped. */
  *after(after: number, end: { reason: PrefixEnd }): Generator<FinishedRow> {
    const bound = this.#bound();
    for (;;) {
      const rows = this.#readPage(after, bound, pageSize);
      for (const row of rows) {
        if (row.status !== 'done' && row.status !== 'failed') {
          end.reason = 'unfinished';
          return;
        }
        after = row.idx;
        yield row as FinishedRow;
      }
      if (rows.length < pageSize) {
        end.reason = this.#ended ? 'end' : 'unknown';
        return;
      }
    }
  }

  /**
   * Every finished row after input position `after`, unfinished ones passed over: the end of the
   * output of a run that stops with prompts left. A page at a time, so its cost follows the job's
   * size, not the number of gaps.
   */
  *finishedAfter(after: number): Generator<FinishedRow> {
    const bound = this.#bound();
    for (;;) {
      const rows = this.#readPage(after, bound, pageSize);
      for (const row of rows) {
        after = row.idx;
        if (row.status === 'done' || row.status === 'failed') yield row as FinishedRow;
      }
      if (rows.length < pageSize) return;
    }
  }

  #bound(): number {
    return this.#ended ? noBound : this.#knownBefore;
  }
}
