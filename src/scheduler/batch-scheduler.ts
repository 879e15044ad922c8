import { setMaxListeners } from 'node:events';
import PQueue from 'p-queue';
import { BackendError, toAppError, type AppError } from '../errors.js';
import type { PromptItem } from '../prompts/prompt-item.js';
import type { ItemOutcome } from '../store/item-outcome.js';
import { LatencyHistogram } from './latency-histogram.js';
import { RetryPolicy } from './retry-policy.js';
import type { RequestGate } from './request-gate.js';
import type { Router } from './router.js';
import { checkWholeNumber } from '../util/check-option.js';
import { ModelGroupQueue, type GroupGrowth, type ModelGroup } from './model-group-queue.js';
import type { AnswerCheck } from './answer-check.js';
import { isWarmStart } from './warm-start.js';
import type { FleetListener } from './fleet-listener.js';

/** Pending work, grouped by model so that each model's prompts run together. */
export interface WorkSource {
  /** Models with pending prompts (null: prompts that name no model), in input order of first use. */
  models(): ReadonlyArray<{ readonly model: string | null; readonly pending: number }>;
  /**
   * The pending prompts of one model, in input order, read lazily; with `afterIndex`, only those
   * after that input position (a group read again after its source grew).
   */
  items(model: string | null, afterIndex?: number): AsyncIterable<PromptItem>;
  /**
   * Set while the inputs are still being read: prompts and models keep joining, and `models()`
   * is asked again after every growth. Absent: the source is complete when the run starts.
   */
  readonly growth?: GroupGrowth;
}

/** Where outcomes go: the checkpoint store's group-committing writer, or a no-op in benchmarks. */
export interface ResultSink {
  markRunning(customId: string): void;
  record(outcome: ItemOutcome): void;
  /** Set when the sink can no longer write; the scheduler stops dispatching. */
  readonly error: AppError | undefined;
}

/** What the scheduler reports while it runs (the progress bar listens); the router's fleet events ride along. */
export interface SchedulerListener extends FleetListener {
  /** A prompt's first request is about to go out (once per prompt: what the summary counts as sent). */
  onDispatch?(item: PromptItem): void;
  /**
   * A request (first or a retry) goes on the wire to the server at `serverUrl`; `onRequestEnd`
   * follows it, whatever its end.
   */
  onRequestStart?(item: PromptItem, serverUrl: string): void;
  onRequestEnd?(item: PromptItem, serverUrl: string): void;
  onOutcome?(outcome: ItemOutcome): void;
  onRetry?(item: PromptItem, error: AppError, delayMs: number): void;
}

export interface BatchSchedulerOptions {
  readonly router: Router;
  readonly source: WorkSource;
  readonly sink: ResultSink;
  /** Requests in flight at once, across all endpoints. */
  readonly workers: number;
  /** Per-request deadline. @default 600000 */
  readonly timeoutMs?: number;
  readonly retryPolicy?: RetryPolicy;
  /**
   * Longest time a model's prompts wait while other models are served; past it the scheduler
   * switches to that model even though the current one has work left. 0 disables the bound.
   * @default 1800000
   */
  readonly maxWaitMs?: number;
  /** First Ctrl-C: stop dispatching, let in-flight requests finish for up to `graceMs`. */
  readonly softStop?: AbortSignal;
  /** Second Ctrl-C: abort in-flight requests now (they stay pending for resume). */
  readonly hardStop?: AbortSignal;
  /** Grace period after a soft stop, before in-flight requests are aborted. @default 30000 */
  readonly graceMs?: number;
  readonly listener?: SchedulerListener;
  /** Checks each answer's JSON shape; an invalid one is sent again `answerCheck.retries` times, apart from `retryPolicy`. */
  readonly answerCheck?: AnswerCheck;
  /** Holds each request to its endpoint's rate limits and adaptive concurrency. @default none: only `workers` bounds */
  readonly gate?: RequestGate;
  /** Clock, injectable for tests. @default Date.now */
  readonly now?: () => number;
}

export interface SchedulerSummary {
  /** Prompts whose first request was sent: a prompt that waited for a server and was stopped is not counted. */
  readonly dispatched: number;
  readonly done: number;
  readonly failed: number;
  readonly retries: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly wallMs: number;
  readonly latencyMs: { readonly p50?: number; readonly p95?: number; readonly p99?: number };
  readonly ttftP50Ms?: number;
  /** Requests whose answer showed the model already loaded (Ollama load_duration ~0). */
  readonly warmStarts: number;
  /** Answers that reported a load time at all (the denominator of the warm-start rate). */
  readonly loadReported: number;
  /** Why dispatching stopped early, if it did. */
  readonly stoppedBy?: 'interrupt' | 'store-error' | 'servers-down';
  /** With `stoppedBy: 'servers-down'`: the ALL_SERVERS_DOWN error that ended the run. */
  readonly stopError?: AppError;
}

/**
 * The worker pool: at most `workers` requests in flight, prompts pulled lazily from the source
 * (at most `workers` more held in memory), one model's prompts after another so that each model
 * loads once, retries with backoff, and every outcome handed to the sink.
 */
export class BatchScheduler {
  readonly #options: BatchSchedulerOptions;
  readonly #retry: RetryPolicy;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #abort = new AbortController();
  readonly #latency = new LatencyHistogram();
  readonly #ttft = new LatencyHistogram();
  #stopped: SchedulerSummary['stoppedBy'];
  #stopError: AppError | undefined;
  /** Aborted on the first stop request: ends retry waits at once (in-flight requests get the grace). */
  readonly #softStopped = new AbortController();
  /** Either stop: a request still waiting at the gate is not sent. */
  readonly #stopping = AbortSignal.any([this.#abort.signal, this.#softStopped.signal]);
  #dispatched = 0;
  #done = 0;
  #failed = 0;
  #retries = 0;
  #promptTokens = 0;
  #completionTokens = 0;
  #warmStarts = 0;
  #loadReported = 0;

  constructor(options: BatchSchedulerOptions) {
    checkWholeNumber('workers', options.workers, 1);
    this.#options = options;
    this.#retry = options.retryPolicy ?? new RetryPolicy();
    this.#timeoutMs = options.timeoutMs ?? 600_000;
    this.#now = options.now ?? Date.now;
    // Every request in flight listens on this one signal: `workers` listeners is the design,
    // not a leak.
    setMaxListeners(options.workers + 16, this.#abort.signal, this.#softStopped.signal, this.#stopping);
  }

  async run(): Promise<SchedulerSummary> {
    const { workers, source, sink, softStop, hardStop } = this.#options;
    const started = this.#now();
    const queue = new PQueue({ concurrency: workers });
    let graceTimer: NodeJS.Timeout | undefined;
    const onSoftStop = (): void => {
      this.#stopped ??= 'interrupt';
      this.#softStopped.abort();
      graceTimer = setTimeout(() => this.#abort.abort(), this.#options.graceMs ?? 30_000);
      graceTimer.unref();
    };
    const onHardStop = (): void => {
      this.#stopped ??= 'interrupt';
      this.#softStopped.abort();
      this.#abort.abort();
    };
    if (softStop?.aborted) onSoftStop();
    else softStop?.addEventListener('abort', onSoftStop, { once: true });
    if (hardStop?.aborted) onHardStop();
    else hardStop?.addEventListener('abort', onHardStop, { once: true });

    const groups = new ModelGroupQueue(
      orderModels(source.models(), this.#options.router.residentModels()),
      (model, afterIndex) => source.items(model, afterIndex)[Symbol.asyncIterator](),
      // A stop ends a wait for more input at once: nothing waiting there was taken.
      { maxWaitMs: this.#options.maxWaitMs ?? 1_800_000, now: this.#now, growth: source.growth, signal: this.#softStopped.signal },
    );
    try {
      for (;;) {
        if (this.#shouldStop()) break;
        const next = await groups.next();
        if (next === undefined) break;
        // Backpressure: hold at most `workers` prompts beyond those in flight.
        if (queue.size >= workers) await queue.onSizeLessThan(workers);
        if (this.#shouldStop()) break;
        // Ready: taken from the job's pending prompts into the pool's queue; its queue wait runs
        // from here to its first request (a free worker, a server, a model load).
        const readyAt = this.#now();
        void queue.add(async () => {
          // Marked running when a worker takes it, not when it is queued: a prompt that waited in
          // the queue when the run stopped was never sent and stays pending. It is counted as sent
          // only once its request goes out (#process), after any wait for a server.
          if (this.#shouldStop()) return;
          sink.markRunning(next.item.customId);
          return this.#process(next.item, next.group, readyAt);
        });
      }
    } finally {
      await groups.close();
      // Prompts queued but not started stay pending in the store: resume sends them.
      if (this.#stopped !== undefined) queue.clear();
      await queue.onIdle();
      if (graceTimer) clearTimeout(graceTimer);
      softStop?.removeEventListener('abort', onSoftStop);
      hardStop?.removeEventListener('abort', onHardStop);
    }

    return {
      dispatched: this.#dispatched,
      done: this.#done,
      failed: this.#failed,
      retries: this.#retries,
      promptTokens: this.#promptTokens,
      completionTokens: this.#completionTokens,
      wallMs: this.#now() - started,
      latencyMs: {
        p50: this.#latency.percentile(50),
        p95: this.#latency.percentile(95),
        p99: this.#latency.percentile(99),
      },
      ttftP50Ms: this.#ttft.percentile(50),
      warmStarts: this.#warmStarts,
      loadReported: this.#loadReported,
      stoppedBy: this.#stopped,
      stopError: this.#stopError,
    };
  }

  #shouldStop(): boolean {
    if (this.#stopped !== undefined) return true;
    if (this.#options.sink.error !== undefined) {
      this.#stopped = 'store-error';
      return true;
    }
    return false;
  }

  async #process(item: PromptItem, group: ModelGroup, readyAt: number): Promise<void> {
    const { router } = this.#options;
    const signal = this.#abort.signal;
    const model = group.model ?? undefined;
    let attempts = 0;
    let invalidAnswers = 0;
    let queueWaitMs: number | undefined;
    /** Why requests were sent again: error code -> requests that failed with it and were retried. */
    const retryCauses: Record<string, number> = {};
    /** Where the last attempt failed: the retry goes to another server when one can take it. */
    let avoid: string | undefined;
    for (let failures = 0; ; ) {
      // A retry after a stop request is not sent: the prompt stays pending for resume.
      if (signal.aborted || ((failures > 0 || attempts > 0) && this.#stopped !== undefined)) return;
      let lease;
      try {
        // A stop ends the wait for a server (one loading, or every one down): nothing was sent yet.
        lease = await untilAborted(router.acquire(model, { avoid }), [signal, this.#softStopped.signal]);
      } catch (error) {
        // Stopped while a server was starting, or its start failed because of the stop: nothing was
        // sent, so the prompt stays pending for resume instead of failing.
        if (signal.aborted || this.#stopped !== undefined) return;
        const appError = toAppError(error);
        if (appError.code === 'ALL_SERVERS_DOWN') {
          // No server came back within --max-down: the run ends resumable, its prompts pending.
          this.#stopped = 'servers-down';
          this.#stopError = appError;
          this.#softStopped.abort();
          return;
        }
        const delay = this.#retry.delayMs(failures + 1, appError);
        if (delay === undefined) return this.#fail(item, attempts, appError, undefined, { queueWaitMs, retryCauses });
        failures += 1;
        await this.#backoff(item, appError, delay);
        continue;
      }
      // Stopped while waiting for a server (a model loading): nothing was sent, the item stays pending.
      if (signal.aborted || this.#softStopped.signal.aborted) {
        lease.release();
        return;
      }
      if (this.#options.gate !== undefined) {
        // Stopped while waiting for the endpoint's limits: nothing was sent, the item stays pending.
        const admitted = await this.#options.gate.admit(lease, item, this.#stopping);
        if (admitted === undefined) return;
        lease = admitted;
      }
      attempts += 1;
      if (attempts === 1) {
        queueWaitMs = this.#now() - readyAt;
        this.#dispatched += 1;
        this.#options.listener?.onDispatch?.(item);
      } else {
        // Counted when the request goes out again, not when a retry is scheduled: a stop during
        // the backoff sends nothing, and the summary must match what the server received.
        this.#retries += 1;
      }
      const body = lease.model !== undefined && item.body.model !== lease.model ? { ...item.body, model: lease.model } : item.body;
      let released = false;
      try {
        this.#options.listener?.onRequestStart?.(item, lease.backend.url);
        let result;
        try {
          result = await lease.backend.complete({ endpoint: item.endpoint, body, timeoutMs: this.#timeoutMs, signal });
        } finally {
          this.#options.listener?.onRequestEnd?.(item, lease.backend.url);
        }
        const checked = this.#options.answerCheck?.check(body, result, lease.backend.url);
        this.#done += 1;
        this.#promptTokens += result.promptTokens;
        this.#completionTokens += result.completionTokens;
        this.#latency.record(result.timings.latencyMs);
        if (result.timings.ttftMs !== undefined) this.#ttft.record(result.timings.ttftMs);
        if (result.timings.modelLoadMs !== undefined) {
          this.#loadReported += 1;
          if (isWarmStart(result.timings.modelLoadMs)) this.#warmStarts += 1;
        }
        this.#emit({
          customId: item.customId,
          status: 'done',
          attempts,
          response: { statusCode: result.statusCode, requestId: result.requestId, body: result.body },
          endpointUrl: lease.backend.url,
          model: typeof body.model === 'string' ? body.model : undefined,
          promptTokens: result.promptTokens,
          completionTokens: result.completionTokens,
          latencyMs: result.timings.latencyMs,
          ttftMs: result.timings.ttftMs,
          modelLoadMs: result.timings.modelLoadMs,
          answer: checked?.answer,
          queueWaitMs,
          retryCauses: nonEmpty(retryCauses),
          finishedAt: this.#now(),
        });
        return;
      } catch (error) {
        // An aborted request is not an answer: the item stays pending and resume sends it again.
        if (signal.aborted) return;
        const appError = toAppError(error);
        const url = lease.backend.url;
        if (appError.code === 'ANSWER_INVALID') {
          // The server answered, just not in the shape asked for: it is healthy, and the answer is
          // asked for again (counted apart from transport retries) or the prompt fails.
          released = true;
          lease.release({});
          if (invalidAnswers >= (this.#options.answerCheck?.retries ?? 0)) return this.#fail(item, attempts, appError, url, { queueWaitMs, retryCauses });
          invalidAnswers += 1;
          retryCauses[appError.code] = (retryCauses[appError.code] ?? 0) + 1;
          await this.#backoff(item, appError, 0);
          continue;
        }
        // The router learns the server's health, and the lease is not held through the backoff (a
        // server on trial takes one request at a time). A server already known down costs no retry.
        released = true;
        const excused = lease.release({ error: appError })?.excused === true && appError.retryable;
        if (!excused) failures += 1;
        const delay = excused ? 0 : this.#retry.delayMs(failures, appError);
        if (delay === undefined) return this.#fail(item, attempts, appError, url, { queueWaitMs, retryCauses });
        retryCauses[appError.code] = (retryCauses[appError.code] ?? 0) + 1;
        avoid = url;
        // Another healthy server takes the retry at once; a known-down one's prompts wait in the router.
        await this.#backoff(item, appError, router.hasAlternative?.(model, url) === true ? 0 : delay);
      } finally {
        // An answer tells the router the server is up; an abort tells it nothing.
        if (!released) lease.release(signal.aborted ? undefined : {});
      }
    }
  }

  /** Waits before a retry; a stop (soft or hard) ends the wait: a prompt waiting to be sent again is not in flight. */
  async #backoff(item: PromptItem, error: AppError, delayMs: number): Promise<void> {
    this.#options.listener?.onRetry?.(item, error, delayMs);
    if (delayMs <= 0 || this.#abort.signal.aborted || this.#softStopped.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delayMs);
      const signals = [this.#abort.signal, this.#softStopped.signal];
      function done(): void {
        clearTimeout(timer);
        for (const signal of signals) signal.removeEventListener('abort', done);
        resolve();
      }
      for (const signal of signals) signal.addEventListener('abort', done, { once: true });
    });
  }

  #fail(item: PromptItem, attempts: number, error: AppError, endpointUrl: string | undefined, waits: { readonly queueWaitMs: number | undefined; readonly retryCauses: Record<string, number> }): void {
    this.#failed += 1;
    this.#emit({
      customId: item.customId,
      status: 'failed',
      attempts,
      // The server's own answer or none: a body `batch` made up would read as the server's.
      response: error instanceof BackendError ? error.response : undefined,
      error: { code: error.code, message: error.message },
      endpointUrl,
      model: typeof item.body.model === 'string' ? item.body.model : undefined,
      queueWaitMs: waits.queueWaitMs,
      retryCauses: nonEmpty(waits.retryCauses),
      finishedAt: this.#now(),
    });
  }

  #emit(outcome: ItemOutcome): void {
    this.#options.sink.record(outcome);
    this.#options.listener?.onOutcome?.(outcome);
  }
}

function nonEmpty(counts: Record<string, number>): Record<string, number> | undefined {
  return Object.keys(counts).length > 0 ? counts : undefined;
}

/** Resident models first (no load needed), then the rest in the source's order. */
export function orderModels(
  models: ReadonlyArray<{ readonly model: string | null; readonly pending: number }>,
  resident: readonly string[],
): Array<string | null> {
  const names = models.filter((m) => m.pending > 0).map((m) => m.model);
  const warm = resident.filter((r) => names.includes(r));
  return [...warm, ...names.filter((n) => n === null || !warm.includes(n))];
}

/**
 * `promise`, or a rejection as soon as one of `signals` aborts: a stop must not wait for a model
 * that takes minutes to load, or for a server to come back. A lease that arrives after the stop is
 * released at once.
 */
function untilAborted<T extends { release(): void }>(promise: Promise<T>, signals: readonly AbortSignal[]): Promise<T> {
  const aborted = signals.find((signal) => signal.aborted);
  if (aborted !== undefined) {
    void promise.then((late) => late.release(), () => undefined);
    return Promise.reject(aborted.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const detach = (): void => {
      for (const signal of signals) signal.removeEventListener('abort', onAbort);
    };
    function onAbort(this: AbortSignal): void {
      detach();
      void promise.then((late) => late.release(), () => undefined);
      reject(this.reason);
    }
    for (const signal of signals) signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        detach();
        resolve(value);
      },
      (error: unknown) => {
        detach();
        reject(error);
      },
    );
  });
}
