import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Backend, CompletionRequest, CompletionResult } from '../backends/backend.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, toAppError } from '../errors.js';
import { RetryPolicy } from '../scheduler/retry-policy.js';
import { checkWholeNumber, optionError } from '../util/check-option.js';
import type { PromptEndpoint } from '../prompts/prompt-item.js';
import type { ConcurrencyCurve, ConcurrencyLevel } from './concurrency-curve.js';

export type { ConcurrencyCurve, ConcurrencyLevel } from './concurrency-curve.js';

export interface MeasureConcurrencyOptions {
  /** The server to measure. Its connection pool must allow `maxConcurrency` connections. */
  readonly backend: Backend;
  /** Request bodies (OpenAI chat format), sent round-robin; `max_tokens` is overridden. @default one short chat prompt */
  readonly bodies?: ReadonlyArray<Readonly<Record<string, unknown>>>;
  /** @default '/v1/chat/completions' */
  readonly endpoint?: PromptEndpoint;
  /** Set as `model` in bodies that name none (Ollama and OpenAI servers need one). @default undefined */
  readonly model?: string;
  /** Highest concurrency tried; levels are 1, 2, 4, … up to it. @default 64 */
  readonly maxConcurrency?: number;
  /** Requests sent at each level; at least `concurrency` keeps that many in flight throughout. @default max(4 × concurrency, 16) */
  readonly requestsPerLevel?: number | ((concurrency: number) => number);
  /** `max_tokens` of every request: equal lengths make levels comparable. @default 32 */
  readonly maxTokens?: number;
  /** Per-request deadline. @default 120000 */
  readonly timeoutMs?: number;
  /**
   * How a request that fails with a transient error (5xx, reset, timeout, 429) is sent again, as
   * `batch run` retries it; a permanent error (or the retries spent) ends the measurement.
   * @default new RetryPolicy() (5 retries, jittered backoff from 250 ms)
   */
  readonly retry?: RetryPolicy;
  /** Clock in milliseconds. @default performance.now */
  readonly now?: () => number;
  readonly signal?: AbortSignal;
  /** Called after each level, for progress lines. */
  readonly onLevel?: (level: ConcurrencyLevel) => void;
}

/** A level must beat the previous one by this much to be worth going further. */
const MIN_GAIN = 0.05;
/** The recommendation is the smallest level within this share of the best throughput. */
const NEAR_BEST = 0.05;
/**
 * Queueing: past the server's slots, doubling concurrency makes requests wait for a slot, so the
 * median latency jumps (≥ 1.4×) while throughput gains only the client round trip that a waiting
 * request hides (well under the +100% of a real doubling; < 50% here, as a busy client inflates it).
 * Batched decoding on a GPU that still has room slows each request far less per doubling.
 */
const QUEUE_LATENCY_GROWTH = 1.4;
const QUEUE_MAX_GAIN = 0.5;

function isQueueing(level: ConcurrencyLevel, previous: ConcurrencyLevel): boolean {
  return level.p50LatencyMs >= previous.p50LatencyMs * QUEUE_LATENCY_GROWTH && level.completionTokensPerSecond < previous.completionTokensPerSecond * (1 + QUEUE_MAX_GAIN);
}
const DEFAULT_BODY = { messages: [{ role: 'user', content: 'Write a short poem about the sea.' }] };

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))] ?? 0;
}

/**
 * Finds the concurrency a server serves best: runs levels 1, 2, 4, 8, … with exactly `level`
 * requests in flight, stops when throughput grows less than 5% over the previous level, when a
 * level only queues for the server's slots (see `isQueueing`), or at `maxConcurrency`, and
 * recommends the smallest level within 5% of the best throughput of the levels before queueing.
 * A transient failure is retried (`retry`); a request that still fails ends the measurement with
 * an AppError naming the level and the server.
 */
export async function measureConcurrency(options: MeasureConcurrencyOptions): Promise<ConcurrencyCurve> {
  const maxConcurrency = checkWholeNumber('maxConcurrency', options.maxConcurrency ?? 64, 1);
  const maxTokens = checkWholeNumber('maxTokens', options.maxTokens ?? 32, 1);
  const timeoutMs = checkWholeNumber('timeoutMs', options.timeoutMs ?? 120_000, 1);
  if (typeof options.requestsPerLevel === 'number') checkWholeNumber('requestsPerLevel', options.requestsPerLevel, 1);
  if (options.bodies !== undefined && (!Array.isArray(options.bodies) || options.bodies.length === 0)) {
    throw optionError('bodies', 'a non-empty array of request bodies', options.bodies);
  }
  const now = options.now ?? (() => performance.now());
  const retry = options.retry ?? new RetryPolicy();
  const bodies = options.bodies ?? [DEFAULT_BODY];
  // Every request in flight listens on the signal, up to maxConcurrency at once: past Node's
  // default of 10 listeners it would print a MaxListenersExceededWarning. A signal of our own
  // that follows the caller's takes them, leaving the caller's limit alone.
  const signal = options.signal === undefined ? undefined : AbortSignal.any([options.signal]);
  if (signal !== undefined) setMaxListeners(maxConcurrency + 16, signal);
  const requestsFor = (concurrency: number): number => {
    const requests = typeof options.requestsPerLevel === 'function' ? options.requestsPerLevel(concurrency) : (options.requestsPerLevel ?? Math.max(4 * concurrency, 16));
    return checkWholeNumber('requestsPerLevel', requests, 1);
  };

  const levels: ConcurrencyLevel[] = [];
  let sent = 0;
  for (const concurrency of levelsUpTo(maxConcurrency)) {
    const requests = requestsFor(concurrency);
    const latencies: number[] = [];
    let tokens = 0;
    let next = 0;
    let failed = false;
    const started = now();
    const worker = async (): Promise<void> => {
      while (next < requests && !failed) {
        next += 1;
        const base = bodies[sent % bodies.length]!;
        sent += 1;
        const body = { ...base, ...(base.model === undefined && options.model !== undefined ? { model: options.model } : {}), max_tokens: maxTokens };
        const sentAt = now();
        try {
          const result = await completeWithRetries(options.backend, { endpoint: options.endpoint ?? '/v1/chat/completions', body, timeoutMs, signal }, retry);
          tokens += result.completionTokens;
        } catch (error) {
          failed = true;
          const code = error instanceof AppError ? error.code : 'INTERNAL';
          const message = error instanceof Error ? error.message : String(error);
          throw new AppError(code, `measuring concurrency ${concurrency} on ${options.backend.url}: a request failed: ${message}; check the server, or lower --max-concurrency`, { cause: error });
        }
        latencies.push(now() - sentAt);
      }
    };
    // allSettled: a failure stops new sends, and the requests already in flight are awaited
    // before the error is reported, so none outlives the measurement.
    const outcomes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, requests) }, worker));
    const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
    const seconds = Math.max(now() - started, 1e-3) / 1000;
    latencies.sort((a, b) => a - b);
    const level: ConcurrencyLevel = {
      concurrency,
      requests,
      completionTokensPerSecond: tokens / seconds,
      requestsPerSecond: requests / seconds,
      p50LatencyMs: percentile(latencies, 0.5),
      p95LatencyMs: percentile(latencies, 0.95),
    };
    levels.push(level);
    options.onLevel?.(level);
    const previous = levels[levels.length - 2];
    if (previous !== undefined && (level.completionTokensPerSecond < previous.completionTokensPerSecond * (1 + MIN_GAIN) || isQueueing(level, previous))) break;
  }
  return { url: options.backend.url, levels, ...recommend(levels) };
}

/**
 * One request, sent again after a transient failure (a single 500 must not end a measurement that
 * `batch run` would have ridden through). Its latency counts the retries: the level paid for them.
 */
async function completeWithRetries(backend: Backend, request: CompletionRequest, retry: RetryPolicy): Promise<CompletionResult> {
  for (let failures = 1; ; failures += 1) {
    try {
      return await backend.complete(request);
    } catch (error) {
      const delay = request.signal?.aborted === true ? undefined : retry.delayMs(failures, toAppError(error));
      if (delay === undefined) throw error;
      await sleep(delay, undefined, { signal: request.signal });
    }
  }
}

function signedPercent(share: number): string {
  const percent = Math.round(share * 100);
  return `${percent >= 0 ? '+' : ''}${percent}%`;
}

/** 1, 2, 4, … below `max`, then `max` itself. */
function levelsUpTo(max: number): number[] {
  const levels: number[] = [];
  for (let level = 1; level < max; level *= 2) levels.push(level);
  levels.push(max);
  return levels;
}

/**
 * The smallest level within 5% of the best throughput, and why. Levels from the first that only
 * queues (see `isQueueing`) on are left out: their extra throughput is the client's round trip
 * hidden by a waiting request, paid for with a slot's worth of latency. The reason names the rule
 * that chose, and every level that measured more than the one chosen with the rule that left it
 * out: "2 gives the best throughput" is said only when no level measured more.
 */
export function recommend(levels: readonly ConcurrencyLevel[]): { recommended: number; reason: string } {
  const queueAt = levels.findIndex((level, index) => index > 0 && isQueueing(level, levels[index - 1]!));
  const candidates = queueAt > 0 ? levels.slice(0, queueAt) : levels;
  const fastest = (list: readonly ConcurrencyLevel[]): ConcurrencyLevel => list.reduce((top, level) => (level.completionTokensPerSecond > top.completionTokensPerSecond ? level : top), list[0]!);
  const best = fastest(candidates);
  const top = fastest(levels);
  const chosen = candidates.find((level) => level.completionTokensPerSecond >= best.completionTokensPerSecond * (1 - NEAR_BEST))!;
  const rate = (level: ConcurrencyLevel): string => `${level.completionTokensPerSecond.toFixed(1)} tokens/s`;
  const latency = (level: ConcurrencyLevel): string => `p50 ${Math.round(level.p50LatencyMs)} ms`;
  const versus = (level: ConcurrencyLevel): string => signedPercent(level.completionTokensPerSecond / chosen.completionTokensPerSecond - 1);
  const beforeQueue = top === best ? '' : ' before requests queue';
  const parts = [
    chosen === best
      ? `${chosen.concurrency} gives the best throughput${beforeQueue} (${rate(chosen)}, ${latency(chosen)})`
      : `${chosen.concurrency} reaches ${rate(chosen)}, within 5% of the best${beforeQueue} (${rate(best)} at ${best.concurrency}, ${versus(best)}), at lower latency (${latency(chosen)} vs ${Math.round(best.p50LatencyMs)} ms): the smallest level within 5% of the best is chosen`,
  ];
  const queued = levels[queueAt];
  if (queueAt > 0 && queued !== undefined) {
    const before = levels[queueAt - 1]!;
    parts.push(
      `at ${queued.concurrency} requests only queue for the server's slots (${rate(queued)}, ${versus(queued)} over ${chosen.concurrency}, ` +
        `while p50 latency went ${Math.round(before.p50LatencyMs)} → ${Math.round(queued.p50LatencyMs)} ms from ${before.concurrency}), so it is left out: ` +
        `a level whose median latency grows ${QUEUE_LATENCY_GROWTH}× or more for less than +${QUEUE_MAX_GAIN * 100}% throughput waits for slots`,
    );
  } else if (levels[levels.length - 1] !== best) {
    const last = levels[levels.length - 1]!;
    parts.push(`${last.concurrency} added less than 5% (${rate(last)}, ${versus(last)} over ${chosen.concurrency}, ${latency(last)})`);
  }
  return { recommended: chosen.concurrency, reason: parts.join('; ') };
}
