import { BackendError, type AppError } from '../errors.js';
import type { CheckedAnswer } from '../backends/validate-answer.js';
import type { CompletionResult } from '../backends/backend.js';
import type { PromptItem } from '../prompts/prompt-item.js';
import type { ItemOutcome } from '../store/item-outcome.js';
import type { LeaseFallback } from './router.js';

/** One prompt on its way through its requests: what the scheduler knows of it between attempts. */
export interface PromptTrip {
  readonly item: PromptItem;
  readonly model: string | undefined;
  /** When the prompt was taken into the pool's queue: its queue wait runs from here to its first request. */
  readonly readyAt: number;
  /** Requests sent. */
  attempts: number;
  /** Failures counted against the retry policy. */
  failures: number;
  /** Answers refused by the answer check, counted apart. */
  invalidAnswers: number;
  queueWaitMs: number | undefined;
  /** Why requests were sent again: error code -> requests that failed with it and were retried. */
  readonly retryCauses: Record<string, number>;
  /** Where the last attempt failed: the retry goes to another server when one can take it. */
  avoid: string | undefined;
  /**
   * The model the last request was sent as (a managed server's name for it, set by the router):
   * a failed prompt records it as an answered one would, so one model is one group in the
   * report and its loads count once.
   */
  sentModel: string | undefined;
  /** Why the last request went to a fallback model instead of the prompt's own (`--fallback`). */
  fallback: LeaseFallback | undefined;
}

/** A prompt taken from the queue at `readyAt`, nothing sent yet. */
export function startTrip(item: PromptItem, model: string | undefined, readyAt: number): PromptTrip {
  return { item, model, readyAt, attempts: 0, failures: 0, invalidAnswers: 0, queueWaitMs: undefined, retryCauses: {}, avoid: undefined, sentModel: undefined, fallback: undefined };
}

/** The outcome of a prompt answered by the server at `url`. */
export function doneOutcome(trip: PromptTrip, url: string, body: Readonly<Record<string, unknown>>, result: CompletionResult, checked: CheckedAnswer | undefined, finishedAt: number): ItemOutcome {
  return {
    customId: trip.item.customId,
    status: 'done',
    attempts: trip.attempts,
    response: { statusCode: result.statusCode, requestId: result.requestId, body: result.body },
    endpointUrl: url,
    model: typeof body.model === 'string' ? body.model : undefined,
    promptTokens: result.promptTokens,
    completionTokens: result.completionTokens,
    latencyMs: result.timings.latencyMs,
    ttftMs: result.timings.ttftMs,
    modelLoadMs: result.timings.modelLoadMs,
    answer: checked?.answer,
    fallback: trip.fallback,
    queueWaitMs: trip.queueWaitMs,
    retryCauses: nonEmpty(trip.retryCauses),
    finishedAt,
  };
}

/** The outcome of a prompt that failed with `error` (last at `endpointUrl`, none when no server took it). */
export function failedOutcome(trip: PromptTrip, error: AppError, endpointUrl: string | undefined, finishedAt: number): ItemOutcome {
  const { item } = trip;
  return {
    customId: item.customId,
    status: 'failed',
    attempts: trip.attempts,
    // The server's own answer or none: a body `batch` made up would read as the server's.
    response: error instanceof BackendError ? error.response : undefined,
    error: { code: error.code, message: error.message },
    endpointUrl,
    model: trip.sentModel ?? (typeof item.body.model === 'string' ? item.body.model : undefined),
    fallback: trip.fallback,
    queueWaitMs: trip.queueWaitMs,
    retryCauses: nonEmpty(trip.retryCauses),
    finishedAt,
  };
}

function nonEmpty(counts: Record<string, number>): Record<string, number> | undefined {
  return Object.keys(counts).length > 0 ? counts : undefined;
}
