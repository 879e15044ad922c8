import type { PromptItem } from '../prompts/prompt-item.js';
import type { SchedulerListener } from '../scheduler/scheduler-listener.js';
import type { ItemOutcome } from '../store/item-outcome.js';
import { LatencyHistogram } from './latency-histogram.js';
import { isWarmStart } from './warm-start.js';

/** What a run sent and got, counted from the scheduler's events (the run summary's numbers). */
export interface RunStatisticsSummary {
  /** Prompts whose first request was sent: a prompt that waited for a server and was stopped is not counted. */
  readonly dispatched: number;
  readonly done: number;
  readonly failed: number;
  /** Failed prompts of which no request was sent (a malformed model, over --tpm): no request to count in req/s. */
  readonly failedUnsent: number;
  /** Requests sent again (transport retries and answers asked for again), counted when they go out. */
  readonly retries: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly latencyMs: { readonly p50?: number; readonly p95?: number; readonly p99?: number };
  readonly ttftP50Ms?: number;
  /** Answers that showed the model already loaded (Ollama load_duration ~0). */
  readonly warmStarts: number;
  /** Answers that reported a load time at all (the denominator of the warm-start rate). */
  readonly loadReported: number;
}

/**
 * Counts a run from the scheduler's events: prompts sent, answered and failed, requests sent again,
 * tokens, and latency and time-to-first-token percentiles (in constant memory). Join it to the
 * run's `ListenerSet`; `summary()` is what the run summary reports.
 */
export class RunStatistics implements SchedulerListener {
  readonly #latency = new LatencyHistogram();
  readonly #ttft = new LatencyHistogram();
  #dispatched = 0;
  #done = 0;
  #failed = 0;
  #failedUnsent = 0;
  #retries = 0;
  #promptTokens = 0;
  #completionTokens = 0;
  #warmStarts = 0;
  #loadReported = 0;

  onDispatch(_item: PromptItem): void {
    this.#dispatched += 1;
  }

  onRequestStart(_item: PromptItem, _serverUrl: string, attempt: number): void {
    // Counted when a request goes out again, not when a retry is scheduled: a stop during the
    // backoff sends nothing, and the summary must match what the server received.
    if (attempt > 1) this.#retries += 1;
  }

  onOutcome(outcome: ItemOutcome): void {
    if (outcome.status !== 'done') {
      this.#failed += 1;
      if (outcome.attempts === 0) this.#failedUnsent += 1;
      return;
    }
    this.#done += 1;
    this.#promptTokens += outcome.promptTokens ?? 0;
    this.#completionTokens += outcome.completionTokens ?? 0;
    if (outcome.latencyMs !== undefined) this.#latency.record(outcome.latencyMs);
    if (outcome.ttftMs !== undefined) this.#ttft.record(outcome.ttftMs);
    if (outcome.modelLoadMs !== undefined) {
      this.#loadReported += 1;
      if (isWarmStart(outcome.modelLoadMs)) this.#warmStarts += 1;
    }
  }

  /** The counts so far. */
  summary(): RunStatisticsSummary {
    return {
      dispatched: this.#dispatched,
      done: this.#done,
      failed: this.#failed,
      failedUnsent: this.#failedUnsent,
      retries: this.#retries,
      promptTokens: this.#promptTokens,
      completionTokens: this.#completionTokens,
      latencyMs: { p50: this.#latency.percentile(50), p95: this.#latency.percentile(95), p99: this.#latency.percentile(99) },
      ttftP50Ms: this.#ttft.percentile(50),
      warmStarts: this.#warmStarts,
      loadReported: this.#loadReported,
    };
  }
}
