import type { RetryPolicy } from './retry-policy.js';
import type { RequestGate } from './request-gate.js';
import type { Router } from './router.js';
import type { AnswerCheck } from './answer-check.js';
import type { SchedulerListener } from './scheduler-listener.js';
import type { WorkSource } from './work-source.js';
import type { ResultSink } from './result-sink.js';

/** What a `BatchScheduler` sends, where, and how; the `@default`s are `src/defaults.ts`'s, as in the settings table. */
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
  /**
   * Told of every dispatch, request, retry and outcome. Several listeners: a `ListenerSet`. The
   * scheduler keeps no statistics of its own: `RunStatistics` (reporting/) counts from these events.
   */
  readonly listener?: SchedulerListener;
  /** Checks each answer's JSON shape; an invalid one is sent again `answerCheck.retries` times, apart from `retryPolicy`. */
  readonly answerCheck?: AnswerCheck;
  /** Holds each request to its endpoint's rate limits and adaptive concurrency. @default none: only `workers` bounds */
  readonly gate?: RequestGate;
  /** Clock, injectable for tests. @default Date.now */
  readonly now?: () => number;
}

