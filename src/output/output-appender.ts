// Long file: one state machine (check the file, replace it, append to it) whose steps share its
// private state; the finished prefix and the reading of pages are split out already.
import { appendFileSync, closeSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';
import { checkNumber, optionError } from '../util/check-option.js';
import { makeFolder } from '../util/make-folder.js';
import { openStreamTarget, outputTargetOf } from '../util/output-target.js';
import { FinishedPrefix, type FinishedRow, type PrefixEnd, type ReadOutputPage } from './finished-prefix.js';
import { toBatchOutputText } from './output-line.js';

/** Where the output of a run goes while it runs. */
export interface OutputAppenderOptions {
  /** The JSONL output file, absolute. */
  readonly path: string;
  /** The job's name (part of each line's `id`). */
  readonly jobName: string;
  /**
   * Shortest time, in milliseconds, between two looks at the database by `advanceIfDue`: the file
   * grows in large appends, not a line per answer.
   * @default 500
   */
  readonly intervalMs?: number;
}

/** How the output stands after `finish`. */
export interface OutputAppenderResult {
  /**
   * The file holds every finished item in input order: byte for byte what `writeOutput` writes.
   * False when it could not be kept so (an error, or reading had not ended): write it in full.
   */
  readonly complete: boolean;
  /** Lines in the file. */
  readonly lines: number;
  /** Why it is not complete, when a file operation failed. */
  readonly error?: StoreError;
}

/** Bytes gathered before one append. */
const appendBytes = 1 << 20;

/**
 * Keeps a job's JSONL output file equal to the output of its finished prefix (`FinishedPrefix`):
 * the items, in input order, up to the first one not finished yet. Each `advance` appends the
 * lines of the items that have finished since, in large appends, so the file grows as answers
 * land and a killed run leaves whole lines in input order. It reads the job through `readPage`
 * (the store prepares it), so the output formats hold no database handle.
 *
 * A file that is already there (a resumed run, a killed one) is checked line by line against
 * what the database says first; if it is exactly a prefix, appending continues it; if not (a
 * line cut short by a kill, a failed line since reset by `--retry-failed`, lines past a gap of
 * an interrupted run) it is replaced atomically by the finished prefix. `finish` then appends the
 * rest of the finished items: the file is byte for byte what `writeOutput` writes.
 *
 * A path that is a symbolic link is followed: the file it leads to is the one kept so. A
 * character device or a FIFO (`outputTargetOf`) is opened once and streamed to: the finished
 * prefix from its first line, nothing read back, nothing renamed over it.
 *
 * Synchronous: it runs beside the commits of a result writer (on the writer's thread). It never
 * throws: a failed file operation stops it, and `finish` reports the output as incomplete.
 */
export class OutputAppender {
  readonly #path: string;
  /** The file kept, once known: the path, or the file its link leads to. */
  #file: string;
  /** The device or FIFO streamed to, once open. */
  #fd: number | undefined;
  readonly #jobName: string;
  readonly #intervalMs: number;
  readonly #prefix: FinishedPrefix;
  #state: 'unchecked' | 'appending' | 'finished' | 'failed' = 'unchecked';
  /** Input position of the last item whose line is in the file. */
  #writtenIdx = -1;
  #lines = 0;
  #lastAdvanceAt = Number.NEGATIVE_INFINITY;
  /** The advance `advanceIfDue` put off until `intervalMs` is up. */
  #trailing: NodeJS.Timeout | undefined;
  #error: StoreError | undefined;

  constructor(readPage: ReadOutputPage, options: OutputAppenderOptions) {
    if (typeof options.path !== 'string' || !path.isAbsolute(options.path)) throw optionError('path', 'an absolute path', options.path);
    if (typeof options.jobName !== 'string') throw optionError('jobName', 'a string', options.jobName);
    this.#path = options.path;
    this.#file = options.path;
    this.#jobName = options.jobName;
    this.#intervalMs = checkNumber('intervalMs', options.intervalMs ?? 500, 0);
    this.#prefix = new FinishedPrefix(readPage);
  }

  /** The failure that stopped it, if one did. */
  get error(): StoreError | undefined {
    return this.#error;
  }

  /** Lines in the file so far. */
  get lines(): number {
    return this.#lines;
  }

  /**
   * Items at input positions below `idx` are all in the database and stay where they are. Only
   * for a job whose every item comes from the reading under way (a new job): a job read again
   * keeps its old positions until its reading ends.
   */
  knownBefore(idx: number): void {
    this.#prefix.knownBefore(idx);
  }

  /** Every input has been read and recorded: every item's position is final. */
  readingEnded(): void {
    this.#prefix.readingEnded();
  }

  /**
   * `advance`, unless the last one was less than `intervalMs` ago; then once that interval is up.
   * The later advance matters when this commit was the last for a while (a slow producer waiting
   * for its answers to appear): without it, answers committed just after an advance would stay out
   * of the file until the next commit.
   */
  advanceIfDue(now: number = Date.now()): void {
    const waitMs = this.#lastAdvanceAt + this.#intervalMs - now;
    if (waitMs <= 0) {
      this.#lastAdvanceAt = now;
      this.advance();
    } else if (this.#trailing === undefined && this.#state !== 'finished' && this.#state !== 'failed') {
      this.#trailing = setTimeout(() => {
        this.#trailing = undefined;
        this.advanceIfDue();
      }, waitMs);
      // A run ends by `finish`, which cancels it; nothing else should wait for it.
      this.#trailing.unref();
    }
  }

  /** Appends the lines of the items that joined the finished prefix. */
  advance(): void {
    this.#attempt(() => {
      if (this.#state === 'unchecked') this.#check();
      if (this.#state === 'appending') this.#append('prefix');
    });
  }

  /**
   * Once the results are all committed: appends every finished item not in the file yet (past
   * any gap of unfinished ones), after which the file is what `writeOutput` writes, and stops.
   */
  finish(): OutputAppenderResult {
    clearTimeout(this.#trailing);
    this.#trailing = undefined;
    if (!this.#prefix.ended) {
      this.advance();
      this.#closeStream();
      return this.#result(false);
    }
    this.#attempt(() => {
      if (this.#state === 'unchecked') this.#check();
      if (this.#state !== 'appending') return;
      this.#append('all');
      // `writeOutput` leaves an empty file for a job with nothing finished.
      if (this.#lines === 0 && this.#fd === undefined) closeSync(openSync(this.#file, 'a', 0o600));
      this.#state = 'finished';
    });
    this.#closeStream();
    return this.#result(this.#state === 'finished');
  }

  #result(complete: boolean): OutputAppenderResult {
    return this.#error === undefined ? { complete, lines: this.#lines } : { complete: false, lines: this.#lines, error: this.#error };
  }

  #line(row: FinishedRow): string {
    return `${toBatchOutputText(this.#jobName, row)}\n`;
  }

  /**
   * Compares the file that is there with the finished prefix, line by line, as bytes: a file
   * that is exactly a prefix of it is continued; any other is replaced by it. A file longer than
   * what is known so far waits until more is known.
   */
  #check(): void {
    const where = outputTargetOf(this.#path, '--out');
    if (where.mode === 'stream') {
      this.#fd = openStreamTarget(where, '--out');
      this.#state = 'appending';
      return;
    }
    this.#file = where.file;
    const target = this.#file;
    let size: number;
    try {
      size = statSync(target).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      size = 0;
    }
    if (size === 0) {
      this.#state = 'appending';
      return;
    }
    const end = { reason: 'end' as PrefixEnd };
    const expected = this.#prefix.after(-1, end);
    const fd = openSync(target, 'r');
    let matched = 0;
    let lastIdx = -1;
    let verdict: 'prefix' | 'replace' | 'wait' = 'prefix';
    try {
      const chunk = Buffer.alloc(1 << 16);
      let carry = Buffer.alloc(0);
      let position = 0;
      scan: for (;;) {
        const read = readSync(fd, chunk, 0, chunk.length, position);
        if (read === 0) break;
        position += read;
        let data = carry.length === 0 ? chunk.subarray(0, read) : Buffer.concat([carry, chunk.subarray(0, read)]);
        let newline: number;
        while ((newline = data.indexOf(10)) !== -1) {
          const next = expected.next();
          if (next.done === true) {
            verdict = end.reason === 'unknown' ? 'wait' : 'replace';
            break scan;
          }
          if (!data.subarray(0, newline + 1).equals(Buffer.from(this.#line(next.value)))) {
            verdict = 'replace';
            break scan;
          }
          matched++;
          lastIdx = next.value.idx;
          data = data.subarray(newline + 1);
        }
        carry = Buffer.from(data);
      }
      // A line cut short (a kill in the middle of an append) is never part of a valid prefix.
      if (verdict === 'prefix' && carry.length > 0) verdict = 'replace';
    } finally {
      closeSync(fd);
      expected.return(undefined);
    }
    if (verdict === 'wait') return;
    if (verdict === 'prefix') {
      this.#lines = matched;
      this.#writtenIdx = lastIdx;
      this.#state = 'appending';
      return;
    }
    this.#replace();
  }

  /** Writes the finished prefix to `<path>.tmp` and renames it over the file. */
  #replace(): void {
    const target = this.#file;
    const temporary = `${target}.tmp`;
    rmSync(temporary, { force: true });
    const fd = openSync(temporary, 'wx', 0o600);
    let lines = 0;
    let lastIdx = -1;
    try {
      let buffer = '';
      for (const row of this.#prefix.after(-1, { reason: 'end' })) {
        buffer += this.#line(row);
        lines++;
        lastIdx = row.idx;
        if (buffer.length >= appendBytes) {
          writeAll(fd, buffer);
          buffer = '';
        }
      }
      writeAll(fd, buffer);
    } catch (error) {
      closeSync(fd);
      rmSync(temporary, { force: true });
      throw error;
    }
    closeSync(fd);
    renameSync(temporary, target);
    this.#lines = lines;
    this.#writtenIdx = lastIdx;
    this.#state = 'appending';
  }

  /**
   * Appends the items after the last written one: up to the first unfinished one (`prefix`), or
   * every finished one (`all`, at the end).
   */
  #append(mode: 'prefix' | 'all'): void {
    let buffer = '';
    let count = 0;
    let lastIdx = this.#writtenIdx;
    const flush = (): void => {
      if (buffer.length === 0) return;
      this.#write(buffer);
      this.#lines += count;
      this.#writtenIdx = lastIdx;
      buffer = '';
      count = 0;
    };
    // Up to the first unfinished item, or (at the end) every finished one, the unfinished passed over.
    const rows = mode === 'prefix' ? this.#prefix.after(lastIdx, { reason: 'end' as PrefixEnd }) : this.#prefix.finishedAfter(lastIdx);
    for (const row of rows) {
      buffer += this.#line(row);
      count++;
      lastIdx = row.idx;
      if (buffer.length >= appendBytes) flush();
    }
    flush();
  }

  #write(text: string): void {
    if (this.#fd !== undefined) {
      writeAll(this.#fd, text);
      return;
    }
    const target = this.#file;
    if (this.#lines === 0) makeFolder(path.dirname(target), 0o700);
    appendFileSync(target, text, { mode: 0o600 });
  }

  #closeStream(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // Closing a device or FIFO already written to: nothing left to lose.
    }
  }

  #attempt(step: () => void): void {
    if (this.#state === 'failed' || this.#state === 'finished') return;
    try {
      step();
    } catch (error) {
      this.#state = 'failed';
      this.#closeStream();
      const message = error instanceof Error ? error.message : String(error);
      this.#error = new StoreError(
        'STORE_WRITE_FAILED',
        `cannot write output file ${this.#path}: ${message}; check that its folder is writable and has space, or pass another --out`,
        error,
      );
    }
  }
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}
