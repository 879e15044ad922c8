import { checkNumber, checkWholeNumber, optionError } from '../util/check-option.js';

/** How a result writer groups its commits. */
export interface ResultBatcherOptions {
  /**
   * Longest time, in milliseconds, a result waits in memory before it is committed. Every result
   * recorded within one interval goes into one transaction.
   * @default 100
   */
  readonly flushIntervalMs?: number;
  /**
   * Buffered entries (running marks plus outcomes) that trigger an immediate commit, so that a
   * fast batch does not grow the buffer without bound between timer ticks.
   * @default 500
   */
  readonly maxBatch?: number;
}

/**
 * Takes the whole buffer. Returns false when it could not commit: the entries go back in front
 * of the buffer and automatic commits stop, so the disk is not retried behind the caller's back;
 * the next `flush()` is the one deliberate retry.
 */
export type CommitEntries<Entry> = (entries: readonly Entry[]) => boolean;

/**
 * The buffering of both result writers (in-thread `ResultWriter` and `ThreadedResultWriter`):
 * `push` only appends; a timer commits the buffer every `flushIntervalMs`, or at once when it
 * reaches `maxBatch`.
 */
export class ResultBatcher<Entry> {
  readonly #commit: CommitEntries<Entry>;
  readonly #flushIntervalMs: number;
  readonly #maxBatch: number;
  #buffer: Entry[] = [];
  #timer: NodeJS.Timeout | undefined;
  #halted = false;

  constructor(commit: CommitEntries<Entry>, options: ResultBatcherOptions = {}) {
    if (typeof commit !== 'function') throw optionError('commit', 'a function', commit);
    this.#commit = commit;
    this.#flushIntervalMs = checkNumber('flushIntervalMs', options.flushIntervalMs ?? 100, 0);
    this.#maxBatch = checkWholeNumber('maxBatch', options.maxBatch ?? 500, 1);
  }

  /** Entries waiting in memory to be committed. */
  get pending(): number {
    return this.#buffer.length;
  }

  /** Buffers `entry`, committing now when the buffer is full, else within `flushIntervalMs`. */
  push(entry: Entry): void {
    this.#buffer.push(entry);
    if (this.#halted) return;
    if (this.#buffer.length >= this.#maxBatch) {
      this.flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#commitBuffer();
      }, this.#flushIntervalMs);
      this.#timer.unref();
    }
  }

  /** Commits everything buffered now. Returns whether it committed (true when nothing was buffered). */
  flush(): boolean {
    this.stop();
    return this.#commitBuffer();
  }

  /** Stops the timer; what is buffered stays until the next `flush()`. */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #commitBuffer(): boolean {
    if (this.#buffer.length === 0) return true;
    const entries = this.#buffer;
    this.#buffer = [];
    if (this.#commit(entries)) return true;
    this.#buffer = entries.concat(this.#buffer);
    this.#halted = true;
    return false;
  }
}
