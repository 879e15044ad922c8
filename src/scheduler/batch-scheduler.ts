import { setMaxListeners } from 'node:events';
import PQueue from 'p-queue';
import { toAppError, type AppError } from '../errors.js';
import { defaults } from '../defaults.js';
import type { PromptItem } from '../prompts/prompt-item.js';
import type { ItemOutcome } from '../store/item-outcome.js';
import { RetryPolicy } from './retry-policy.js';
import type { RouteLease } from './router.js';
import { checkWholeNumber } from '../util/check-option.js';
import { ModelGroupQueue } from './model-group-queue.js';
import type { BatchSchedulerOptions } from './batch-scheduler-options.js';
import { doneOutcome, failedOutcome, startTrip, type PromptTrip } from './prompt-trip.js';
import { orderModels } from './order-models.js';
import { untilAborted } from './until-aborted.js';

export type { BatchSchedulerOptions } from './batch-scheduler-options.js';
export type { SchedulerListener } from './scheduler-listener.js';
export type { WorkSource } from './work-source.js';
export type { ResultSink } from './result-sink.js';
export { orderModels } from './order-models.js';

/** How a run of the worker pool ended. The counts of what it sent and got are `RunStatistics`'. */
export interface SchedulerResult {
  readonly wallMs: number;
  /** Why dispatching stopped early, if it did. */
  readonly stoppedBy?: 'interrupt' | 'store-error' | 'servers-down';
  /** With `stoppedBy: 'servers-down'`: the ALL_SERVERS_DOWN error that ended the run. */
  readonly stopError?: AppError;
}

/** What one request came to: the prompt is finished (an outcome, or left pending), or goes again. */
type Next = 'finished' | 'again';

/**
 * The worker pool: at most `workers` requests in flight, prompts pulled lazily from the source
 * (at most `workers` more held in memory), one model's prompts after another so that each model
 * loads once, retries with backoff, and every outcome handed to the sink. It holds dispatch state
 * only: what it does is told to its listener.
 */
export class BatchScheduler {
  readonly #options: BatchSchedulerOptions;
  readonly #retry: RetryPolicy;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #abort = new AbortController();
  #stopped: SchedulerResult['stoppedBy'];
  #stopError: AppError | undefined;
  /** Aborted on the first stop request: ends retry waits at once (in-flight requests get the grace). */
  readonly #softStopped = new AbortController();
  /** Either stop: a request still waiting at the gate is not sent. */
  readonly #stopping = AbortSignal.any([this.#abort.signal, this.#softStopped.signal]);

  constructor(options: BatchSchedulerOptions) {
    checkWholeNumber('workers', options.workers, 1);
    this.#options = options;
    this.#retry = options.retryPolicy ?? new RetryPolicy();
    this.#timeoutMs = options.timeoutMs ?? defaults.timeoutMs;
    this.#now = options.now ?? Date.now;
    // Every request in flight listens on this one signal: `workers` listeners is the design,
    // not a leak.
    setMaxListeners(options.workers + 16, this.#abort.signal, this.#softStopped.signal, this.#stopping);
  }

  async run(): Promise<SchedulerResult> {
    const { workers, source, sink } = this.#options;
    const started = this.#now();
    const queue = new PQueue({ concurrency: workers });
    const unwatch = this.#watchStops();
    const groups = new ModelGroupQueue(
      orderModels(source.models(), this.#options.router.residentModels()),
      (model, afterIndex) => {
        const items = source.items(model, afterIndex);
        return Symbol.iterator in items ? items[Symbol.iterator]() : items[Symbol.asyncIterator]();
      },
      // A stop ends a wait for more input at once: nothing waiting there was taken.
      { maxWaitMs: this.#options.maxWaitMs ?? defaults.maxWaitMs, now: this.#now, growth: source.growth, signal: this.#softStopped.signal },
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
          // only once its request goes out (#send), after any wait for a server.
          if (this.#shouldStop()) return;
          sink.markRunning(next.item.customId);
          return this.#process(next.item, next.group.model ?? undefined, readyAt);
        });
      }
    } finally {
      await groups.close();
      // Prompts queued but not started stay pending in the store: resume sends them.
      if (this.#stopped !== undefined) queue.clear();
      await queue.onIdle();
      unwatch();
    }
    return { wallMs: this.#now() - started, stoppedBy: this.#stopped, stopError: this.#stopError };
  }

  /** Listens for the two stops: soft (a grace, then abort) and hard (abort now). Returns what stops listening. */
  #watchStops(): () => void {
    const { softStop, hardStop } = this.#options;
    let graceTimer: NodeJS.Timeout | undefined;
    const onSoftStop = (): void => {
      this.#stopped ??= 'interrupt';
      this.#softStopped.abort();
      graceTimer = setTimeout(() => this.#abort.abort(), this.#options.graceMs ?? defaults.graceMs);
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
    return () => {
      if (graceTimer) clearTimeout(graceTimer);
      softStop?.removeEventListener('abort', onSoftStop);
      hardStop?.removeEventListener('abort', onHardStop);
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

  /** Sends one prompt until it has an outcome, or is left pending by a stop. */
  async #process(item: PromptItem, model: string | undefined, readyAt: number): Promise<void> {
    const trip = startTrip(item, model, readyAt);
    for (;;) {
      // A retry after a stop request is not sent: the prompt stays pending for resume.
      if (this.#abort.signal.aborted || ((trip.failures > 0 || trip.attempts > 0) && this.#stopped !== undefined)) return;
      const lease = await this.#lease(trip);
      if (lease === 'again') continue;
      if (lease === 'finished') return;
      if ((await this.#send(trip, lease)) === 'finished') return;
    }
  }

  /** A server for the prompt's next request, through the gate; or why there is none. */
  async #lease(trip: PromptTrip): Promise<RouteLease | Next> {
    const signal = this.#abort.signal;
    let lease;
    try {
      // A stop ends the wait for a server (one loading, or every one down): nothing was sent yet.
      const { router } = this.#options;
      const wanted = { avoid: trip.avoid };
      lease = router.tryAcquire?.(trip.model, wanted) ?? (await untilAborted(router.acquire(trip.model, wanted), [signal, this.#softStopped.signal]));
    } catch (error) {
      // Stopped while a server was starting, or its start failed because of the stop: nothing was
      // sent, so the prompt stays pending for resume instead of failing.
      if (signal.aborted || this.#stopped !== undefined) return 'finished';
      const appError = toAppError(error);
      if (appError.code === 'ALL_SERVERS_DOWN') {
        // No server came back within --max-down: the run ends resumable, its prompts pending.
        this.#stopped = 'servers-down';
        this.#stopError = appError;
        this.#softStopped.abort();
        return 'finished';
      }
      const delay = this.#retry.delayMs(trip.failures + 1, appError);
      if (delay === undefined) return this.#fail(trip, appError, undefined);
      trip.failures += 1;
      await this.#backoff(trip.item, appError, delay);
      return 'again';
    }
    // Stopped while waiting for a server (a model loading): nothing was sent, the item stays pending.
    if (signal.aborted || this.#softStopped.signal.aborted) {
      lease.release();
      return 'finished';
    }
    if (this.#options.gate === undefined) return lease;
    // Stopped while waiting for the endpoint's limits: nothing was sent, the item stays pending.
    return (await this.#options.gate.admit(lease, trip.item, this.#stopping)) ?? 'finished';
  }

  /** Sends one request on `lease` and releases it, whatever its end. */
  async #send(trip: PromptTrip, lease: RouteLease): Promise<Next> {
    const { item } = trip;
    const { listener } = this.#options;
    const signal = this.#abort.signal;
    trip.attempts += 1;
    if (trip.attempts === 1) {
      trip.queueWaitMs = this.#now() - trip.readyAt;
      listener?.onDispatch?.(item);
    }
    const url = lease.backend.url;
    const body = lease.model !== undefined && item.body.model !== lease.model ? { ...item.body, model: lease.model } : item.body;
    trip.sentModel = typeof body.model === 'string' ? body.model : undefined;
    trip.fallback = lease.fallback;
    let released = false;
    try {
      listener?.onRequestStart?.(item, url, trip.attempts);
      let result;
      try {
        result = await lease.backend.complete({ endpoint: item.endpoint, body, timeoutMs: this.#timeoutMs, signal });
      } finally {
        listener?.onRequestEnd?.(item, url);
      }
      const checked = this.#options.answerCheck?.check(body, result, url);
      this.#emit(doneOutcome(trip, url, body, result, checked, this.#now()));
      return 'finished';
    } catch (error) {
      // An aborted request is not an answer: the item stays pending and resume sends it again.
      if (signal.aborted) return 'finished';
      released = true;
      return await this.#afterFailure(trip, lease, toAppError(error));
    } finally {
      // An answer tells the router the server is up; an abort tells it nothing.
      if (!released) lease.release(signal.aborted ? undefined : {});
    }
  }

  /** Releases the lease of a failed request with what it learnt, then fails the prompt or waits to send it again. */
  async #afterFailure(trip: PromptTrip, lease: RouteLease, error: AppError): Promise<Next> {
    const url = lease.backend.url;
    if (error.code === 'ANSWER_INVALID') {
      // The server answered, just not in the shape asked for: it is healthy, and the answer is
      // asked for again (counted apart from transport retries) or the prompt fails.
      lease.release({});
      if (trip.invalidAnswers >= (this.#options.answerCheck?.retries ?? 0)) return this.#fail(trip, error, url);
      trip.invalidAnswers += 1;
      trip.retryCauses[error.code] = (trip.retryCauses[error.code] ?? 0) + 1;
      await this.#backoff(trip.item, error, 0);
      return 'again';
    }
    // The router learns the server's health, and the lease is not held through the backoff (a
    // server on trial takes one request at a time). A server already known down costs no retry.
    const excused = lease.release({ error })?.excused === true && error.retryable;
    if (!excused) trip.failures += 1;
    const delay = excused ? 0 : this.#retry.delayMs(trip.failures, error);
    if (delay === undefined) return this.#fail(trip, error, url);
    trip.retryCauses[error.code] = (trip.retryCauses[error.code] ?? 0) + 1;
    trip.avoid = url;
    // Another healthy server takes the retry at once; a known-down one's prompts wait in the router.
    await this.#backoff(trip.item, error, this.#options.router.hasAlternative?.(trip.model, url) === true ? 0 : delay);
    return 'again';
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

  #fail(trip: PromptTrip, error: AppError, endpointUrl: string | undefined): 'finished' {
    this.#emit(failedOutcome(trip, error, endpointUrl, this.#now()));
    return 'finished';
  }

  #emit(outcome: ItemOutcome): void {
    this.#options.sink.record(outcome);
    this.#options.listener?.onOutcome?.(outcome);
  }
}
