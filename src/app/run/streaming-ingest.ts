import type { PromptRecord } from '../../prompts/prompt-item.js';
import type { SchedulerListener, WorkSource } from '../../scheduler/batch-scheduler.js';
import type { CheckpointStore } from '../../store/checkpoint-store.js';
import type { IngestChunk, IngestSummary } from '../../store/item-ingester.js';

export interface StreamingIngestOptions {
  readonly store: CheckpointStore;
  /** A job that held no items when reading began: every item read is new, in input order. */
  readonly jobId: number;
  readonly records: AsyncIterable<PromptRecord>;
  /** Stops reading (Ctrl-C); what was read stays in the job. */
  readonly signal?: AbortSignal;
  /** Give each chunk's prompts the answers of earlier jobs (`--cache`) before they can be sent. */
  readonly cache: boolean;
  /** Told about each line that failed after sending began (a duplicate custom_id). */
  readonly onLineError?: (message: string) => void;
  /** Told, after sending began, each time the number of prompts to send grows, and when reading ends. */
  readonly onTotal?: (info: { readonly pending: number; readonly reading: boolean }) => void;
}

/** Where results are committed, told which input positions are final (the output grows up to them). */
export interface ReadingSink {
  knownBefore(idx: number): void;
  readingEnded(): void;
}

/** Prompts read before reading waits for the first request. */
const readAhead = 1000;
/**
 * How long the reader must have waited for its input, in all, before sending starts beside it: a
 * producer still writing (a pipe), not a file read a little slowly on a busy machine. In all, not
 * at once: a producer writing a line every 150 ms never keeps the reader waiting 200 ms at a time.
 */
const waitedBeforeSendingMs = 200;

/** Longest that reading waits for the first request to go out (a server may be loading a model). */
const resumeAfterMs = 1000;

/**
 * Reads and checkpoints a new job's prompts while they are being sent: the store commits them in
 * chunks, and each commit is what the scheduler's source grows by (models in order of first use,
 * their prompts paged from the store). Nothing per prompt is held here: counts and the list of
 * models only.
 */
export class StreamingIngest {
  readonly #options: StreamingIngestOptions;
  readonly #models: Array<string | null> = [];
  /** The highest priority read so far for each model in `#models`. */
  readonly #top = new Map<string | null, number>();
  readonly #stop = new AbortController();
  readonly #failed = new AbortController();
  #reading = true;
  #dispatching = false;
  #pending = 0;
  #cached = 0;
  #hasWork = false;
  #failure: unknown;
  /** Every input position below it is committed. */
  #knownBefore = 0;
  #sink: ReadingSink | undefined;
  /** Reading reached the end of every input. */
  #complete = false;
  #resumeReading!: () => void;
  /** Resolves when the first request went out (or reading is stopped). */
  readonly #firstRequest = new Promise<void>((resolve) => (this.#resumeReading = resolve));
  #resumeTimer: NodeJS.Timeout | undefined;
  /** Reading was let go on after the first request (or its timer, or a stop): later requests need not. */
  #resumed = false;
  /** The reader has waited `waitedBeforeSendingMs` in all for its input. */
  #waitingForInput = false;
  /** Milliseconds the reader has waited for its input so far. */
  #waitedMs = 0;
  #waitTimer: NodeJS.Timeout | undefined;
  /** When the wait for the next record going on began; undefined between waits. */
  #waitStartedAt: number | undefined;
  #wake!: () => void;
  #grown!: Promise<void>;
  /** What reading found, once it ended; rejects with the reader's or the store's failure. */
  readonly finished: Promise<IngestSummary>;

  constructor(options: StreamingIngestOptions) {
    this.#options = options;
    this.#renew();
    const signal = options.signal === undefined ? this.#stop.signal : AbortSignal.any([options.signal, this.#stop.signal]);
    signal.addEventListener('abort', () => this.#resume(), { once: true });
    this.finished = options.store
      .ingest(options.jobId, this.#timeWaits(options.records), {
        signal,
        onChunk: (chunk) => this.#onChunk(chunk),
        // Once there is something to send and a first thousand prompts are read, reading waits
        // until the first request is out: opening the server (its modules, its requests) and the
        // first request's own steps must not queue behind the rest of the input. A small input
        // is read to its end meanwhile, so its duplicate custom_ids still refuse the run.
        pause: () => (this.#hasWork && this.#knownBefore >= readAhead ? this.#firstRequest : undefined),
        duplicateFailsLine: () => this.#dispatching,
        onLineError: options.onLineError,
      })
      .then(
        (summary) => {
          this.#complete = !summary.stopped;
          this.#end();
          return summary;
        },
        (error: unknown) => {
          this.#failure = error;
          this.#failed.abort(error);
          this.#end();
          throw error;
        },
      );
    // Awaited by whoever ends the run; a failure before that is reported through `throwIfFailed`.
    this.finished.catch(() => undefined);
  }

  /** Whether prompts are still being read. */
  get reading(): boolean {
    return this.#reading;
  }

  /** Prompts read so far that this run has to finish (pending, less those the cache answered). */
  get pending(): number {
    return this.#pending;
  }

  /** Prompts the cache answered (`--cache`). */
  get cached(): number {
    return this.#cached;
  }

  /** Aborts when reading fails: dispatching stops, and the failure is reported at the end. */
  get failedSignal(): AbortSignal {
    return this.#failed.signal;
  }

  /** Resolves once there is a prompt to send, or reading ended (whatever its end). */
  async firstWork(): Promise<void> {
    while (this.#reading && !this.#hasWork) await this.#grown;
  }

  /**
   * Resolves once sending may start without racing the reader: reading ended, a first thousand
   * prompts are read, or the reader has waited for its input 200 ms in all (a producer still
   * writing, whatever its pace).
   * Until then a duplicate custom_id refuses the run, as in an input read whole, whatever the
   * machine's load.
   */
  async readyToDispatch(): Promise<void> {
    while (this.#reading && this.#knownBefore < readAhead && !this.#waitingForInput && this.#failure === undefined) await this.#grown;
  }

  /** Throws the failure of reading, if it failed. */
  throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /**
   * Prompts are being sent from now on: a duplicate custom_id fails only its line, and `sink`
   * is told as input positions become final.
   */
  beginDispatch(sink: ReadingSink): void {
    this.#dispatching = true;
    this.#sink = sink;
    sink.knownBefore(this.#knownBefore);
    if (this.#complete) sink.readingEnded();
    // A first request that waits for a model to load must not hold reading up for all that time.
    this.#resumeTimer = setTimeout(() => this.#resume(), resumeAfterMs);
    this.#resumeTimer.unref();
    this.#options.onTotal?.({ pending: this.#pending, reading: this.#reading });
  }

  /** Joins the run's listeners: when the first request goes out, reading goes on. */
  readonly listener: SchedulerListener = {
    onRequestStart: () => {
      if (!this.#resumed) this.#resume();
    },
  };

  /** Stops reading (the run is ending early) and waits until the store is no longer written. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.finished.catch(() => undefined);
  }

  /** The scheduler's view: the job's pending prompts, growing while they are read. */
  workSource(pageSize: number): WorkSource {
    const { store, jobId } = this.#options;
    return {
      models: () => this.#models.map((model) => ({ model, pending: 1, priority: this.#top.get(model) ?? 0 })),
      items: (model, afterIndex) => store.pendingItems(jobId, { model, pageSize, afterIndex }),
      growth: {
        growing: () => this.#reading,
        grown: () => this.#grown,
        // Models found later join the end of the line, whatever their priority.
        models: () => this.#models,
      },
    };
  }

  /**
   * `records`, timing how long each wait for the next one lasts (not the time the store spends on
   * what was read, nor a pause for the first request). A timer marks the moment the waits reach
   * `waitedBeforeSendingMs` in all, in the middle of a wait. One timer runs across waits, not one
   * per record: a file read at full speed makes thousands of waits of microseconds.
   */
  #timeWaits(records: AsyncIterable<PromptRecord>): AsyncIterable<PromptRecord> {
    const iterator = records[Symbol.asyncIterator]();
    const next = async (): Promise<IteratorResult<PromptRecord>> => {
      const started = performance.now();
      this.#waitStartedAt = started;
      if (!this.#waitingForInput && this.#waitTimer === undefined) this.#armWaitTimer(waitedBeforeSendingMs - this.#waitedMs);
      try {
        return await iterator.next();
      } finally {
        this.#waitStartedAt = undefined;
        this.#waitedMs += performance.now() - started;
      }
    };
    // `return` goes straight to the reader: one stopped in the middle of a wait is left at once.
    const stop = async (value?: unknown): Promise<IteratorResult<PromptRecord>> => (await iterator.return?.(value)) ?? { done: true, value: undefined };
    return { [Symbol.asyncIterator]: () => ({ next, return: stop }) };
  }

  #armWaitTimer(ms: number): void {
    this.#waitTimer = setTimeout(() => this.#onWaitTimer(), Math.max(0, ms));
    this.#waitTimer.unref();
  }

  /**
   * The waits may have reached their total: if so (counting the wait going on), reading has waited
   * long enough; if not, the timer is set again for the rest, now when a wait goes on, else by the
   * next wait.
   */
  #onWaitTimer(): void {
    this.#waitTimer = undefined;
    if (this.#waitStartedAt === undefined) return;
    const waited = this.#waitedMs + (performance.now() - this.#waitStartedAt);
    if (waited >= waitedBeforeSendingMs) this.#waited();
    else this.#armWaitTimer(waitedBeforeSendingMs - waited);
  }

  #waited(): void {
    this.#waitingForInput = true;
    this.#notify();
  }

  #onChunk(chunk: IngestChunk): void {
    this.#knownBefore = chunk.toIndex;
    this.#sink?.knownBefore(chunk.toIndex);
    let pending = chunk.pending;
    if (this.#options.cache && pending > 0) {
      const answered = this.#options.store.applyCache(this.#options.jobId, chunk.fromIndex);
      this.#cached += answered;
      pending -= answered;
    }
    this.#pending += pending;
    for (const model of chunk.models) {
      const top = chunk.topPriorities.get(model) ?? 0;
      const known = this.#top.get(model);
      if (known === undefined) this.#models.push(model);
      if (known === undefined || top > known) this.#top.set(model, top);
    }
    if (chunk.models.length > 0) this.#hasWork = true;
    if (this.#dispatching) this.#options.onTotal?.({ pending: this.#pending, reading: true });
    this.#notify();
  }

  #resume(): void {
    this.#resumed = true;
    if (this.#resumeTimer !== undefined) clearTimeout(this.#resumeTimer);
    this.#resumeTimer = undefined;
    this.#resumeReading();
  }

  #end(): void {
    clearTimeout(this.#waitTimer);
    this.#waitTimer = undefined;
    this.#resume();
    this.#reading = false;
    if (this.#complete) this.#sink?.readingEnded();
    if (this.#dispatching) this.#options.onTotal?.({ pending: this.#pending, reading: false });
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#renew();
    wake();
  }

  #renew(): void {
    this.#grown = new Promise<void>((resolve) => (this.#wake = resolve));
  }
}
