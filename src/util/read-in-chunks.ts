import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

export interface ReadInChunksOptions<T> {
  /** Largest chunk handed to `write`. */
  readonly chunkSize: number;
  /**
   * A chunk older than this is written even if not full, and a reader that has nothing for this
   * long is reported idle (`onIdle`). The first chunk is written as soon as the reader has to wait.
   * Undefined: chunks are written only when full and at the end, nothing is reported idle.
   */
  readonly flushAfterMs?: number;
  /** Stops reading: what was read is written, and the reader is left (its pending read abandoned). */
  readonly signal?: AbortSignal;
  /** Writes one chunk (synchronously: a transaction). The chunk is not used after it returns. */
  readonly write: (chunk: readonly T[]) => void;
  /** The reader has had nothing for `flushAfterMs` and everything read is written. */
  readonly onIdle?: () => void;
  /**
   * Asked after each chunk is written: reading waits for the promise it returns, if any (the
   * consumer of what was written is not ready for more). It must settle when `signal` aborts.
   */
  readonly pause?: () => Promise<void> | undefined;
}

/** How reading ended. */
export interface ReadInChunksResult {
  /** Stopped by `signal` before the reader's end. */
  readonly stopped: boolean;
}

const stop = Symbol('stop');
const flush = Symbol('flush');

/**
 * Reads `source` to its end (or until `signal` aborts), handing it to `write` in chunks of at
 * most `chunkSize`: at most one chunk is held in memory, and the reader is asked for more only
 * once the last record was taken (backpressure). After each chunk the event loop gets a turn,
 * so that work beside the reading (requests, their answers) goes on.
 */
export async function readInChunks<T>(source: AsyncIterable<T>, options: ReadInChunksOptions<T>): Promise<ReadInChunksResult> {
  return new ChunkedRead(source[Symbol.asyncIterator](), options).run();
}

/** One `readInChunks`: the chunk being filled, the flush timer, and the wait for the next record. */
class ChunkedRead<T> {
  readonly #iterator: AsyncIterator<T>;
  readonly #options: ReadInChunksOptions<T>;
  #chunk: T[] = [];
  #written = false;
  #due = false;
  #idleReported = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: ((value: typeof stop | typeof flush) => void) | undefined;
  /** The record asked for and not taken yet: asked once, even across flushes. */
  #next: Promise<IteratorResult<T>> | undefined;
  readonly #onAbort = (): void => this.#wake?.(stop);

  constructor(iterator: AsyncIterator<T>, options: ReadInChunksOptions<T>) {
    this.#iterator = iterator;
    this.#options = options;
  }

  async run(): Promise<ReadInChunksResult> {
    const { signal } = this.#options;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    try {
      this.#arm(0);
      const ended = await this.#readAll();
      if (this.#chunk.length > 0) {
        this.#disarm();
        this.#options.write(this.#chunk);
        this.#chunk = [];
      }
      if (!ended) {
        // The reader may be waiting for input that never comes (a pipe left open): not awaited.
        this.#next?.catch(() => undefined);
        void Promise.resolve(this.#iterator.return?.()).catch(() => undefined);
      }
      return { stopped: !ended };
    } finally {
      this.#disarm();
      signal?.removeEventListener('abort', this.#onAbort);
    }
  }

  /** Takes records until the reader's end (true) or a stop (false). */
  async #readAll(): Promise<boolean> {
    const { chunkSize, flushAfterMs, signal } = this.#options;
    for (;;) {
      if (signal?.aborted) return false;
      const result = await this.#nextEvent();
      if (result === stop) return false;
      if (result === flush) {
        await this.#onDue();
        continue;
      }
      this.#next = undefined;
      if (result.done) return true;
      this.#chunk.push(result.value);
      // The first chunk goes out as soon as the reader waits; later ones at the latest after flushAfterMs.
      if (this.#chunk.length === 1) this.#arm(this.#written ? (flushAfterMs ?? 0) : 0);
      if (this.#chunk.length >= chunkSize) await this.#writeChunk();
    }
  }

  /** The next record, or a stop, or the flush timer, whichever comes first. */
  async #nextEvent(): Promise<IteratorResult<T> | typeof stop | typeof flush> {
    this.#next ??= this.#iterator.next();
    const pending = this.#next;
    try {
      return await new Promise<IteratorResult<T> | typeof stop | typeof flush>((resolve, reject) => {
        this.#wake = resolve;
        pending.then(resolve, reject);
        if (this.#due) resolve(flush);
      });
    } finally {
      this.#wake = undefined;
    }
  }

  /** The flush timer fired: write what is held, or report the reader idle once. */
  async #onDue(): Promise<void> {
    this.#due = false;
    if (this.#chunk.length > 0) await this.#writeChunk();
    else if (!this.#idleReported) {
      this.#idleReported = true;
      this.#options.onIdle?.();
    }
  }

  async #writeChunk(): Promise<void> {
    this.#disarm();
    this.#options.write(this.#chunk);
    this.#chunk = [];
    this.#written = true;
    this.#idleReported = false;
    await yieldToEventLoop();
    const pause = this.#options.pause?.();
    if (pause !== undefined) await pause;
    // Nothing read for a while after this one: the reader is idle.
    this.#arm(this.#options.flushAfterMs ?? 0);
  }

  #arm(ms: number): void {
    if (this.#options.flushAfterMs === undefined || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#due = true;
      this.#wake?.(flush);
    }, ms);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
