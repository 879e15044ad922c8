import type BetterSqlite3 from 'better-sqlite3';
import { AppError, StoreError } from '../errors.js';
import { optionError } from '../util/check-option.js';
import { ResultBatcher, type ResultBatcherOptions } from './result-batcher.js';
import type { ItemOutcome } from './item-outcome.js';
import { storedResponseText } from '../output/output-line.js';
import { OutputAppender, type OutputAppenderOptions, type OutputAppenderResult } from '../output/output-appender.js';
import { prepareOutputPage } from './prepare-output-page.js';

/** How a `ResultWriter` batches its commits. */
export interface ResultWriterOptions extends ResultBatcherOptions {
  /**
   * Called once, with `STORE_WRITE_FAILED`, when a commit fails (disk full, read-only file, I/O
   * error). The scheduler should stop dispatching: results would pile up in memory.
   */
  readonly onError?: (error: StoreError) => void;
  /**
   * Keep the job's JSONL output file growing as results are committed: after a commit (at most
   * every `output.intervalMs`) the lines of the newly finished prefix are appended, and `close`
   * completes the file (see `OutputAppender`). @default no output is written
   */
  readonly output?: OutputAppenderOptions;
}

type Entry =
  | { readonly kind: 'running'; readonly customId: string; readonly at: number }
  | { readonly kind: 'outcome'; readonly outcome: ItemOutcome };

/**
 * `retry_causes` plus this run's (the parameter, bound three times), code by code, as attempts
 * add up across runs (`--retry-failed`). The JSON merge runs only when both sides hold causes,
 * which is rare.
 */
const mergeRetryCauses = `CASE
  WHEN ? IS NULL THEN retry_causes
  WHEN retry_causes IS NULL THEN ?
  ELSE (SELECT json_group_object(key, total) FROM (
    SELECT key, sum(value) AS total FROM (
      SELECT key, value FROM json_each(items.retry_causes) UNION ALL SELECT key, value FROM json_each(?)
    ) GROUP BY key ORDER BY key))
  END`;

/** What a `ResultWriter` needs from the store. */
export interface ResultWriterTarget {
  readonly db: BetterSqlite3.Database;
  /** For messages. */
  readonly path: string;
  readonly jobId: number;
  /** For the fix in messages (`batch resume <job>`). */
  readonly jobName: string;
}

/**
 * Commits results off the hot path. `markRunning` and `record` only push to a buffer; a timer
 * group-commits it every `flushIntervalMs` (or at once when it reaches `maxBatch`), one
 * transaction per commit. A failed commit keeps the buffer, so nothing recorded is lost from
 * memory, and sets `error`.
 */
export class ResultWriter {
  readonly #target: ResultWriterTarget;
  readonly #batcher: ResultBatcher<Entry>;
  readonly #onError: ((error: StoreError) => void) | undefined;
  readonly #markRunning: BetterSqlite3.Statement;
  readonly #applyOutcome: BetterSqlite3.Statement;
  readonly #propagate: BetterSqlite3.Statement;
  readonly #touchJob: BetterSqlite3.Statement;
  readonly #hasDuplicates: BetterSqlite3.Statement<[number], number>;
  readonly #commit: BetterSqlite3.Transaction<(entries: readonly Entry[]) => void>;
  readonly #appender: OutputAppender | undefined;
  #output: OutputAppenderResult | undefined;
  #closed = false;
  #error: StoreError | undefined;

  constructor(target: ResultWriterTarget, options: ResultWriterOptions = {}) {
    if (options.onError !== undefined && typeof options.onError !== 'function') throw optionError('onError', 'a function', options.onError);
    this.#target = target;
    this.#batcher = new ResultBatcher((entries) => this.#commitEntries(entries), options);
    this.#onError = options.onError;
    const { db } = target;
    this.#markRunning = db.prepare(
      `UPDATE items SET status = 'running', started_at = ? WHERE job_id = ? AND custom_id = ?`,
    );
    // Positional parameters: better-sqlite3 binds an array about twice as fast as named ones from
    // an object, and every answer goes through this statement.
    this.#applyOutcome = db.prepare(
      `UPDATE items SET status = ?, attempts = attempts + ?, response = ?,
         error_code = ?, error_message = ?, endpoint_url = ?,
         served_model = ?, prompt_tokens = ?, completion_tokens = ?,
         latency_ms = ?, ttft_ms = ?, model_load_ms = ?,
         queue_wait_ms = ?, retry_causes = ${mergeRetryCauses},
         started_at = coalesce(?, started_at), finished_at = ?, cached = 0, answer = ?,
         fallback_from = ?, fallback_reason = ?
       WHERE job_id = ? AND custom_id = ?`,
    );
    // Duplicates sent no request: they get the answer, not the primary's timings, so latency
    // statistics count each request once.
    this.#propagate = db.prepare(
      `UPDATE items SET status = @status, response = @response, error_code = @errorCode,
         error_message = @errorMessage, endpoint_url = @endpointUrl, served_model = @servedModel,
         prompt_tokens = @promptTokens, completion_tokens = @completionTokens, latency_ms = NULL,
         ttft_ms = NULL, model_load_ms = NULL, started_at = NULL, finished_at = @finishedAt, cached = 0,
         answer = @answer, fallback_from = @fallbackFrom, fallback_reason = @fallbackReason
       WHERE job_id = @jobId AND duplicate_of = @customId`,
    );
    this.#touchJob = db.prepare('UPDATE jobs SET updated_at = ? WHERE id = ?');
    this.#appender = options.output === undefined ? undefined : new OutputAppender(prepareOutputPage(db, target.jobId), options.output);
    this.#hasDuplicates = db.prepare<[number], number>('SELECT EXISTS (SELECT 1 FROM items WHERE job_id = ? AND duplicate_of IS NOT NULL)').pluck();
    this.#commit = db.transaction((entries: readonly Entry[]) => this.#commitGroup(entries));
  }

  /** One group commit's writes, inside its transaction. */
  #commitGroup(entries: readonly Entry[]): void {
    const jobId = this.#target.jobId;
    // A prompt answered within the group takes one UPDATE, not two: its running mark only
    // contributes the start time.
    const answered = new Set<string>();
    for (const entry of entries) if (entry.kind === 'outcome') answered.add(entry.outcome.customId);
    const startedAt = new Map<string, number>();
    // Asked once per group: while nothing is a duplicate there is nothing to copy results to.
    const propagate = this.#hasDuplicates.get(jobId) === 1;
    for (const entry of entries) {
      if (entry.kind === 'running') {
        if (answered.has(entry.customId)) startedAt.set(entry.customId, entry.at);
        else this.#markRunning.run(entry.at, jobId, entry.customId);
      } else this.#writeOutcome(jobId, entry.outcome, startedAt.get(entry.outcome.customId) ?? null, propagate);
    }
    this.#touchJob.run(Date.now(), jobId);
  }

  /** An outcome's UPDATE, and its copy to the item's duplicates when the job has any. */
  #writeOutcome(jobId: number, outcome: ItemOutcome, startedAt: number | null, propagate: boolean): void {
    const row = {
      jobId,
      customId: outcome.customId,
      status: outcome.status,
      attempts: outcome.attempts,
      response: outcome.response === undefined ? null : storedResponseText(outcome.response),
      errorCode: outcome.error?.code ?? null,
      errorMessage: outcome.error?.message ?? null,
      endpointUrl: outcome.endpointUrl ?? null,
      servedModel: outcome.model ?? null,
      fallbackFrom: outcome.fallback?.from ?? null,
      fallbackReason: outcome.fallback?.reason ?? null,
      promptTokens: outcome.promptTokens ?? null,
      completionTokens: outcome.completionTokens ?? null,
      latencyMs: outcome.latencyMs ?? null,
      ttftMs: outcome.ttftMs ?? null,
      modelLoadMs: outcome.modelLoadMs ?? null,
      answer: outcome.answer === undefined ? null : JSON.stringify(outcome.answer),
      queueWaitMs: outcome.queueWaitMs ?? null,
      retryCauses: outcome.retryCauses === undefined ? null : JSON.stringify(outcome.retryCauses),
      finishedAt: outcome.finishedAt,
    };
    const causes = row.retryCauses;
    this.#applyOutcome.run(
      row.status, row.attempts, row.response, row.errorCode, row.errorMessage, row.endpointUrl,
      row.servedModel, row.promptTokens, row.completionTokens, row.latencyMs, row.ttftMs, row.modelLoadMs,
      row.queueWaitMs, causes, causes, causes, startedAt, row.finishedAt, row.answer,
      row.fallbackFrom, row.fallbackReason, jobId, row.customId,
    );
    if (!propagate) return;
    const { attempts: _attempts, latencyMs: _latency, ttftMs: _ttft, modelLoadMs: _load, queueWaitMs: _wait, retryCauses: _causes, ...shared } = row;
    this.#propagate.run(shared);
  }

  /**
   * The latest write failure; stays set once a commit failed. From then on, commits happen only
   * when `flush()` or `close()` asks.
   */
  get error(): StoreError | undefined {
    return this.#error;
  }

  /** Entries waiting in memory to be committed. */
  get pending(): number {
    return this.#batcher.pending;
  }

  /**
   * How the output file stands after `close`: `complete` when it holds every finished item, as
   * `writeOutput` would write it. Undefined without the `output` option, or before `close`.
   */
  get output(): OutputAppenderResult | undefined {
    return this.#output;
  }

  /** Items at input positions below `idx` are final (see `OutputAppender.knownBefore`). */
  knownBefore(idx: number): void {
    this.#appender?.knownBefore(idx);
  }

  /** Every input has been read: the output may grow up to any finished item. */
  readingEnded(): void {
    this.#appender?.readingEnded();
    this.#appender?.advance();
  }

  /**
   * Records that a request for `customId` is in flight (reset to pending by `resetInterrupted`),
   * since `at` (epoch ms): the writer thread passes the time the main thread took the prompt.
   */
  markRunning(customId: string, at = Date.now()): void {
    this.#push({ kind: 'running', customId, at });
  }

  /** Records how an item ended. Committed with the next group; its duplicates get the same result. */
  record(outcome: ItemOutcome): void {
    this.#push({ kind: 'outcome', outcome });
  }

  /** Commits everything buffered now. Rejects with `STORE_WRITE_FAILED` when the commit fails. */
  async flush(): Promise<void> {
    if (!this.#batcher.flush()) throw this.#error;
  }

  /**
   * Commits what is buffered and stops the timer. Rejects with `STORE_WRITE_FAILED` when the
   * final commit fails; the results stay in `pending` memory until the process ends.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#appender !== undefined) this.#output = { complete: false, lines: this.#appender.lines };
    await this.flush();
    if (this.#appender !== undefined) this.#output = this.#appender.finish();
  }

  #push(entry: Entry): void {
    if (this.#closed) {
      throw new AppError('INTERNAL', `cannot record ${entryId(entry)} for job database ${this.#target.path}: the result writer is closed`);
    }
    this.#batcher.push(entry);
  }

  /** One transaction for the whole group. Returns whether it committed. */
  #commitEntries(entries: readonly Entry[]): boolean {
    try {
      this.#commit.immediate(entries);
    } catch (error) {
      this.#fail(error);
      return false;
    }
    // Never throws: a failed output stops only the output, and the run writes it in full instead.
    this.#appender?.advanceIfDue();
    return true;
  }

  #fail(cause: unknown): void {
    const code = (cause as { code?: unknown }).code;
    const message = cause instanceof Error ? cause.message : String(cause);
    const reason = typeof code === 'string' ? `${message} (${code})` : message;
    const error = new StoreError(
      'STORE_WRITE_FAILED',
      `cannot write to job database ${this.#target.path}: ${reason} (disk full?); results already recorded are safe: free space (or make the file writable)`,
      cause,
    );
    const first = this.#error === undefined;
    this.#error = error;
    if (first) this.#onError?.(error);
  }
}

function entryId(entry: Entry): string {
  return entry.kind === 'running' ? `"${entry.customId}" as running` : `the outcome of "${entry.outcome.customId}"`;
}
