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
  const { chunkSize, flushAfterMs, signal, write, onIdle } = options;
  const iterator = source[Symbol.asyncIterator]();
  let chunk: T[] = [];
  let written = false;
  let due = false;
  let idleReported = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: ((value: typeof stop | typeof flush) => void) | undefined;
  const arm = (ms: number): void => {
    if (flushAfterMs === undefined || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      due = true;
      wake?.(flush);
    }, ms);
  };
  const disarm = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const onAbort = (): void => wake?.(stop);
  signal?.addEventListener('abort', onAbort, { once: true });
  const writeChunk = async (): Promise<void> => {
    disarm();
    write(chunk);
    chunk = [];
    written = true;
    idleReported = false;
    await yieldToEventLoop();
    const pause = options.pause?.();
    if (pause !== undefined) await pause;
    // Nothing read for a while after this one: the reader is idle.
    arm(flushAfterMs ?? 0);
  };
  try {
    arm(0);
    let ended = false;
    let next: Promise<IteratorResult<T>> | undefined;
    for (;;) {
      if (signal?.aborted) break;
      next ??= iterator.next();
      const pending = next;
      const result = await new Promise<IteratorResult<T> | typeof stop | typeof flush>((resolve, reject) => {
        wake = resolve;
        pending.then(resolve, reject);
        if (due) resolve(flush);
      });
      wake = undefined;
      if (result === stop) break;
      if (result === flush) {
        due = false;
        if (chunk.length > 0) await writeChunk();
        else if (!idleReported) {
          idleReported = true;
          onIdle?.();
        }
        continue;
      }
      next = undefined;
      if (result.done) {
        ended = true;
        break;
      }
      chunk.push(result.value);
      // The first chunk goes out as soon as the reader waits; later ones at the latest after flushAfterMs.
      if (chunk.length === 1) arm(written ? (flushAfterMs ?? 0) : 0);
      if (chunk.length >= chunkSize) await writeChunk();
    }
    if (chunk.length > 0) {
      disarm();
      write(chunk);
      chunk = [];
    }
    if (!ended) {
      // The reader may be waiting for input that never comes (a pipe left open): not awaited.
      next?.catch(() => undefined);
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
    }
    return { stopped: !ended };
  } finally {
    disarm();
    signal?.removeEventListener('abort', onAbort);
  }
}
