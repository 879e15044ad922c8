import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { checkNumber, checkWholeNumber } from '../util/check-option.js';
import { makeFolder } from '../util/make-folder.js';
import { checkFifoReader, outputTargetOf } from '../util/output-target.js';

/** How a `MetricsWriter` buffers. */
export interface MetricsWriterOptions {
  /**
   * Lines held in memory while the file catches up. Past it (a stalled disk) new lines are
   * dropped and counted in `dropped`: metrics never hold up the batch or grow without bound.
   * @default 10000
   */
  readonly maxBufferedLines?: number;
  /** Longest a line waits in memory before it is written. @default 1000 */
  readonly flushIntervalMs?: number;
  /** Lines that trigger a write at once, without waiting for the timer. @default 1000 */
  readonly batchLines?: number;
}

/**
 * Appends JSON lines to a file off the hot path: `write` only keeps the record; a timer (or a full
 * batch) turns the buffer into text and hands it to one asynchronous append at a time. A failed
 * append stops the writing (the run goes on; `error` says why) instead of retrying a full disk.
 */
export class MetricsWriter {
  readonly path: string;
  readonly #handle: FileHandle;
  readonly #maxBufferedLines: number;
  readonly #flushIntervalMs: number;
  readonly #batchLines: number;
  #buffer: object[] = [];
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #dropped = 0;
  #error: Error | undefined;
  #closed = false;

  /**
   * Opens `file` for appending; a new file is created 0600 and its folders 0700, as outputs are.
   * Throws USAGE when it cannot be opened.
   */
  static async open(file: string, options: MetricsWriterOptions = {}): Promise<MetricsWriter> {
    let handle: FileHandle;
    // Appended to in place: a link is followed, a device or a FIFO written to, never replaced.
    const target = outputTargetOf(file, '--metrics');
    checkFifoReader(target, '--metrics');
    try {
      if (target.mode === 'replace') makeFolder(path.dirname(target.file), 0o700);
      handle = await open(target.file, 'a', 0o600);
    } catch (error) {
      throw new UsageError(`--metrics ${file}: cannot open it for appending: ${(error as Error).message}; pass another --metrics`, error);
    }
    return new MetricsWriter(file, handle, options);
  }

  private constructor(file: string, handle: FileHandle, options: MetricsWriterOptions) {
    this.path = file;
    this.#handle = handle;
    this.#maxBufferedLines = checkWholeNumber('maxBufferedLines', options.maxBufferedLines ?? 10_000, 1);
    this.#flushIntervalMs = checkNumber('flushIntervalMs', options.flushIntervalMs ?? 1000, 0);
    this.#batchLines = checkWholeNumber('batchLines', options.batchLines ?? 1000, 1);
  }

  /** Lines dropped because the buffer was full, the file had failed, or it was closed. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Why appending stopped, if it did. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Queues one record (a plain JSON-able object) as a line. */
  write(record: object): void {
    if (this.#closed || this.#error !== undefined || this.#buffer.length >= this.#maxBufferedLines) {
      this.#dropped += 1;
      return;
    }
    this.#buffer.push(record);
    if (this.#buffer.length >= this.#batchLines) this.#flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#flush(), this.#flushIntervalMs);
      this.#timer.unref();
    }
  }

  /** Writes what is buffered, waits for it, and closes the file. Never throws: see `error` and `dropped`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#writing !== undefined || (this.#buffer.length > 0 && this.#error === undefined)) {
      this.#flush();
      await this.#writing;
    }
    await this.#handle.close().catch((error: Error) => {
      this.#error ??= error;
    });
  }

  /** Starts an append of the whole buffer unless one is under way (its end starts the next). */
  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#writing !== undefined || this.#buffer.length === 0 || this.#error !== undefined) return;
    const lines = this.#buffer;
    this.#buffer = [];
    let text = '';
    for (const line of lines) text += `${JSON.stringify(line)}\n`;
    this.#writing = this.#handle.appendFile(text).then(
      () => {
        this.#writing = undefined;
        if (this.#buffer.length >= this.#batchLines || (this.#closed && this.#buffer.length > 0)) this.#flush();
        else if (this.#buffer.length > 0 && this.#timer === undefined && !this.#closed) {
          this.#timer = setTimeout(() => this.#flush(), this.#flushIntervalMs);
          this.#timer.unref();
        }
      },
      (error: Error) => {
        this.#writing = undefined;
        this.#error = error;
        this.#dropped += lines.length + this.#buffer.length;
        this.#buffer = [];
      },
    );
  }
}
