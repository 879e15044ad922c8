import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError, StoreError, type ErrorCode } from '../errors.js';
import { optionError } from '../util/check-option.js';
import type { ItemOutcome } from './item-outcome.js';
import { ResultBatcher } from './result-batcher.js';
import type { ResultWriterOptions } from './result-writer.js';
import type { OutputAppenderResult } from '../output/output-appender.js';

/**
 * The writer thread's young generation, in MB, set as the thread starts (a Worker's
 * `resourceLimits`). The thread keeps ~5 MB alive; V8's default lets its young generation alone
 * grow to 32 MB, mostly garbage (BENCHMARKS.md, "What `batch` itself costs"). Where node was
 * started with `--max-semi-space-size` (bin/batch.js does, for run and resume), V8 takes the
 * flag's size instead: 8 MB.
 */
const writerYoungGenerationMb = 3;

/** What the main thread sends the writer thread. */
export type WriterEntry =
  /** `at`: when the worker took the prompt, on this thread's clock (the writer thread gets it a group later). */
  | { readonly kind: 'running'; readonly customId: string; readonly at: number }
  | { readonly kind: 'outcome'; readonly outcome: ItemOutcome };
export type WriterRequest =
  | { readonly type: 'batch'; readonly seq: number; readonly entries: readonly WriterEntry[] }
  | { readonly type: 'known-before'; readonly idx: number }
  | { readonly type: 'reading-ended' }
  | { readonly type: 'close' };
/** The output's state as it crosses the thread (a StoreError as its message). */
export interface WriterOutput {
  readonly complete: boolean;
  readonly lines: number;
  readonly errorMessage?: string;
}
/**
 * What the writer thread answers. A failure crosses the thread as its stable code and message
 * (an Error's class and fields do not survive postMessage), so the main thread decides by code.
 */
export type WriterReply =
  | { readonly type: 'committed'; readonly seq: number }
  | { readonly type: 'failed'; readonly seq: number | undefined; readonly code: ErrorCode; readonly message: string }
  | { readonly type: 'closed'; readonly output?: WriterOutput };

export interface ThreadedResultWriterOptions extends ResultWriterOptions {
  /** The job database file (not `:memory:`: the thread opens its own connection). */
  readonly path: string;
  readonly jobId: number;
}

/**
 * The result writer with SQLite on another thread. `markRunning` and `record` push to the same
 * `ResultBatcher` as `ResultWriter`; each group it commits is posted to a worker thread, where a
 * `ResultWriter` on its own connection commits it in one transaction. The main thread, where
 * requests are sent and answered, never waits on the disk. Same contract as `ResultWriter`: a
 * failed commit sets `error` (STORE_WRITE_FAILED) and calls `onError` once; committed results
 * stay safe.
 */
export class ThreadedResultWriter {
  readonly #worker: Worker;
  readonly #options: ThreadedResultWriterOptions;
  readonly #batcher: ResultBatcher<WriterEntry>;
  #seq = 0;
  #acked = 0;
  readonly #waiters: Array<{ readonly seq: number; readonly resolve: () => void; readonly reject: (error: StoreError) => void }> = [];
  #error: StoreError | undefined;
  #closed = false;
  #gone = false;
  #exited: Promise<void>;
  #output: OutputAppenderResult | undefined;

  /**
   * The compiled worker, when it exists: beside this module once compiled; run from source (vitest
   * imports src/ directly, and plain node cannot start the .ts worker) the one in dist/, as
   * `resolveCompiledScript` does for the servers' entry points. So in-process tests go through the
   * production writer thread whenever `npm run build` has run; without a build they get the in-thread
   * writer.
   */
  static workerScript(): string | undefined {
    const here = import.meta.url;
    const compiled = here.endsWith('.js') ? './result-writer-worker.js' : '../../dist/store/result-writer-worker.js';
    const script = fileURLToPath(new URL(compiled, here));
    return existsSync(script) ? script : undefined;
  }

  constructor(options: ThreadedResultWriterOptions, script: string) {
    if (options.onError !== undefined && typeof options.onError !== 'function') throw optionError('onError', 'a function', options.onError);
    this.#options = options;
    this.#batcher = new ResultBatcher((entries) => this.#post(entries), options);
    this.#worker = new Worker(script, {
      workerData: { path: options.path, jobId: options.jobId, output: options.output },
      resourceLimits: { maxYoungGenerationSizeMb: writerYoungGenerationMb },
    });
    this.#worker.on('message', (reply: WriterReply) => this.#onReply(reply));
    this.#worker.on('error', (error) => this.#fail(new AppError('INTERNAL', `the writer thread failed: ${error.message}`, { cause: error })));
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        this.#gone = true;
        if (!this.#closed || code !== 0) this.#fail(new AppError('INTERNAL', `the writer thread exited with code ${code}`));
        resolve();
      });
    });
  }

  get error(): StoreError | undefined {
    return this.#error;
  }

  /** How the output file stands after `close` (see `ResultWriter.output`). */
  get output(): OutputAppenderResult | undefined {
    return this.#output;
  }

  /** Items at input positions below `idx` are final (see `OutputAppender.knownBefore`). */
  knownBefore(idx: number): void {
    if (!this.#gone) this.#worker.postMessage({ type: 'known-before', idx } satisfies WriterRequest);
  }

  /** Every input has been read: the output may grow up to any finished item. */
  readingEnded(): void {
    if (!this.#gone) this.#worker.postMessage({ type: 'reading-ended' } satisfies WriterRequest);
  }

  markRunning(customId: string): void {
    this.#push({ kind: 'running', customId, at: Date.now() });
  }

  record(outcome: ItemOutcome): void {
    this.#push({ kind: 'outcome', outcome });
  }

  /** Posts what is buffered and resolves once everything posted so far is committed. */
  async flush(): Promise<void> {
    if (!this.#batcher.flush() || this.#acked >= this.#seq) {
      if (this.#error) throw this.#error;
      return;
    }
    await new Promise<void>((resolve, reject) => this.#waiters.push({ seq: this.#seq, resolve, reject }));
  }

  /** Commits everything and stops the thread. Rejects with STORE_WRITE_FAILED if the last commit failed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    let failure: unknown;
    try {
      await this.flush();
    } catch (error) {
      failure = error;
    }
    this.#closed = true;
    this.#worker.postMessage({ type: 'close' } satisfies WriterRequest);
    await this.#exited;
    if (failure !== undefined || this.#error !== undefined) throw this.#error ?? failure;
  }

  #push(entry: WriterEntry): void {
    if (this.#closed) throw new AppError('INTERNAL', `cannot record a result for job database ${this.#options.path}: the result writer is closed`);
    this.#batcher.push(entry);
  }

  /** The batcher's commit: hands the group to the thread. False once the thread is gone. */
  #post(entries: readonly WriterEntry[]): boolean {
    if (this.#gone) return false;
    this.#seq += 1;
    this.#worker.postMessage({ type: 'batch', seq: this.#seq, entries } satisfies WriterRequest);
    return true;
  }

  #onReply(reply: WriterReply): void {
    if (reply.type === 'committed') {
      this.#acked = Math.max(this.#acked, reply.seq);
      this.#settle();
    } else if (reply.type === 'closed') {
      const output = reply.output;
      if (output !== undefined) {
        this.#output =
          output.errorMessage === undefined
            ? { complete: output.complete, lines: output.lines }
            : { complete: false, lines: output.lines, error: new StoreError('STORE_WRITE_FAILED', output.errorMessage) };
      }
    } else if (reply.type === 'failed') {
      if (reply.seq !== undefined) this.#acked = Math.max(this.#acked, reply.seq);
      this.#fail(new AppError(reply.code, reply.message));
    }
  }

  #settle(): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i]!;
      if (waiter.seq > this.#acked) continue;
      this.#waiters.splice(i, 1);
      if (this.#error) waiter.reject(this.#error);
      else waiter.resolve();
    }
  }

  #fail(cause: AppError): void {
    if (this.#error === undefined) {
      // A failed commit on the thread is already a STORE_WRITE_FAILED naming the file and the
      // fix (ResultWriter's wording); anything else that stops the thread is wrapped as one.
      this.#error =
        cause.code === 'STORE_WRITE_FAILED'
          ? new StoreError('STORE_WRITE_FAILED', cause.message, cause)
          : new StoreError(
              'STORE_WRITE_FAILED',
              `cannot write to job database ${this.#options.path}: ${cause.message} (${cause.code}); results already recorded are safe: free space (or make the file writable)`,
              cause,
            );
      this.#options.onError?.(this.#error);
    }
    // Nothing more will be acknowledged after a failure of the thread itself.
    if (!this.#closed) this.#acked = Math.max(this.#acked, this.#seq);
    this.#settle();
  }
}
