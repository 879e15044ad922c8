import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError, StoreError } from '../errors.js';
import type { ItemOutcome } from './item-outcome.js';
import type { ResultWriterOptions } from './result-writer.js';

/** What the main thread sends the writer thread. */
export type WriterEntry =
  | { readonly kind: 'running'; readonly customId: string }
  | { readonly kind: 'outcome'; readonly outcome: ItemOutcome };
export type WriterRequest = { readonly type: 'batch'; readonly seq: number; readonly entries: readonly WriterEntry[] } | { readonly type: 'close' };
export type WriterReply =
  | { readonly type: 'committed'; readonly seq: number }
  | { readonly type: 'failed'; readonly seq: number | undefined; readonly message: string }
  | { readonly type: 'closed' };

export interface ThreadedResultWriterOptions extends ResultWriterOptions {
  /** The job database file (not `:memory:`: the thread opens its own connection). */
  readonly path: string;
  readonly jobId: number;
}

/**
 * The result writer with SQLite on another thread. `markRunning` and `record` push to a buffer;
 * every `flushIntervalMs` (or at `maxBatch` entries) the buffer is posted to a worker thread that
 * commits it in one transaction on its own connection. The main thread, where requests are sent
 * and answered, never waits on the disk. Same contract as `ResultWriter`: a failed commit sets
 * `error` (STORE_WRITE_FAILED) and calls `onError` once; committed results stay safe.
 */
export class ThreadedResultWriter {
  readonly #worker: Worker;
  readonly #options: ThreadedResultWriterOptions;
  readonly #flushIntervalMs: number;
  readonly #maxBatch: number;
  #buffer: WriterEntry[] = [];
  #timer: NodeJS.Timeout | undefined;
  #seq = 0;
  #acked = 0;
  readonly #waiters: Array<{ readonly seq: number; readonly resolve: () => void; readonly reject: (error: StoreError) => void }> = [];
  #error: StoreError | undefined;
  #closed = false;
  #exited: Promise<void>;

  /** The compiled worker beside this module, when it exists (it does not under TS-source tests). */
  static workerScript(): string | undefined {
    const script = fileURLToPath(new URL('./result-writer-worker.js', import.meta.url));
    return existsSync(script) ? script : undefined;
  }

  constructor(options: ThreadedResultWriterOptions, script: string) {
    this.#options = options;
    this.#flushIntervalMs = options.flushIntervalMs ?? 100;
    this.#maxBatch = options.maxBatch ?? 500;
    this.#worker = new Worker(script, { workerData: { path: options.path, jobId: options.jobId } });
    this.#worker.on('message', (reply: WriterReply) => this.#onReply(reply));
    this.#worker.on('error', (error) => this.#fail(error.message));
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        if (!this.#closed || code !== 0) this.#fail(`the writer thread exited with code ${code}`);
        resolve();
      });
    });
  }

  get error(): StoreError | undefined {
    return this.#error;
  }

  markRunning(customId: string): void {
    this.#push({ kind: 'running', customId });
  }

  record(outcome: ItemOutcome): void {
    this.#push({ kind: 'outcome', outcome });
  }

  /** Posts what is buffered and resolves once everything posted so far is committed. */
  async flush(): Promise<void> {
    this.#send();
    if (this.#acked >= this.#seq) {
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
    this.#buffer.push(entry);
    if (this.#buffer.length >= this.#maxBatch) this.#send();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#send(), this.#flushIntervalMs);
      this.#timer.unref();
    }
  }

  #send(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buffer.length === 0) return;
    this.#seq += 1;
    this.#worker.postMessage({ type: 'batch', seq: this.#seq, entries: this.#buffer } satisfies WriterRequest);
    this.#buffer = [];
  }

  #onReply(reply: WriterReply): void {
    if (reply.type === 'committed') {
      this.#acked = Math.max(this.#acked, reply.seq);
      this.#settle();
    } else if (reply.type === 'failed') {
      if (reply.seq !== undefined) this.#acked = Math.max(this.#acked, reply.seq);
      this.#fail(reply.message);
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

  #fail(message: string): void {
    if (this.#error === undefined) {
      // The thread's message already names the file and the fix (ResultWriter's wording).
      this.#error = message.startsWith('cannot write to job database')
        ? new StoreError('STORE_WRITE_FAILED', message)
        : new StoreError('STORE_WRITE_FAILED', `cannot write to job database ${this.#options.path}: ${message}; already committed results are safe; run \`batch resume\` to finish`);
      this.#options.onError?.(this.#error);
    }
    // Nothing more will be acknowledged after a failure of the thread itself.
    if (!this.#closed) this.#acked = Math.max(this.#acked, this.#seq);
    this.#settle();
  }
}
