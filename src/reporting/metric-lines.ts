import { isWarmStart } from './warm-start.js';
import type { ItemOutcome } from '../store/item-outcome.js';
import type { RunSample } from '../store/run-sample.js';
import { scrubSecrets } from '../store/scrub-secrets.js';

/** Which job and run a metrics line belongs to (a file may collect several runs). */
export interface MetricsContext {
  readonly job: string;
  readonly runId: number;
}

/** One line of `--metrics` for a finished prompt. */
export interface PromptMetric {
  /** When it finished, ISO 8601 UTC. */
  readonly timestamp: string;
  readonly kind: 'prompt';
  readonly job: string;
  readonly run_id: number;
  readonly custom_id: string;
  readonly status: 'done' | 'failed';
  /** The stable error code of a failed prompt (README "Exit codes"); null when done. */
  readonly error_code: string | null;
  /** Latency of the request that answered; null when none did. */
  readonly duration_ms: number | null;
  readonly ttft_ms: number | null;
  /** Ready to first request: waiting for a worker, a server, a model load. */
  readonly queue_wait_ms: number | null;
  /** Model load time the server reported (Ollama), null when it reports none. */
  readonly load_ms: number | null;
  /** Whether the model was already loaded; null when the server reports no load time. */
  readonly warm_start: boolean | null;
  /** The model the request named, else the one the server's answer names; null when neither does. */
  readonly model: string | null;
  /** The server URL that answered, never with credentials. */
  readonly endpoint: string | null;
  readonly prompt_tokens: number | null;
  readonly completion_tokens: number | null;
  /** Requests sent for the prompt in this run. */
  readonly attempts: number;
  /** Error code -> requests that failed with it and were sent again; null when none were. */
  readonly retry_causes: Readonly<Record<string, number>> | null;
  /** Only for a prompt a fallback model answered (`--fallback`): the prompt's own model; `model` is the one that answered. */
  readonly fallback_from?: string;
}

/** One line of `--metrics` for a sample of the run (the `samples` row, in snake_case). */
export interface SampleMetric {
  readonly timestamp: string;
  readonly kind: 'sample';
  readonly job: string;
  readonly run_id: number;
  readonly interval_ms: number;
  readonly done: number;
  readonly failed: number;
  readonly queued: number;
  readonly in_flight: number;
  readonly in_flight_by_server: Readonly<Record<string, number>>;
  readonly requests_per_s: number | null;
  readonly tokens_per_s: number | null;
  readonly rss_bytes: number;
  readonly heap_bytes: number;
  readonly gpus: ReadonlyArray<{
    readonly index: number;
    readonly name: string;
    readonly utilization_pct: number | null;
    readonly memory_used_bytes: number | null;
    readonly memory_total_bytes: number | null;
  }> | null;
}

/** The `--metrics` line of a finished prompt. */
export function promptMetric(outcome: ItemOutcome, context: MetricsContext): PromptMetric {
  return {
    timestamp: new Date(outcome.finishedAt).toISOString(),
    kind: 'prompt',
    job: context.job,
    run_id: context.runId,
    custom_id: outcome.customId,
    status: outcome.status,
    error_code: outcome.error?.code ?? null,
    duration_ms: outcome.latencyMs ?? null,
    ttft_ms: outcome.ttftMs ?? null,
    queue_wait_ms: outcome.queueWaitMs ?? null,
    load_ms: outcome.modelLoadMs ?? null,
    warm_start: outcome.modelLoadMs === undefined ? null : isWarmStart(outcome.modelLoadMs),
    model: outcome.model ?? modelOfAnswer(outcome),
    endpoint: outcome.endpointUrl === undefined ? null : (scrubSecrets(outcome.endpointUrl) as string),
    prompt_tokens: outcome.promptTokens ?? null,
    completion_tokens: outcome.completionTokens ?? null,
    attempts: outcome.attempts,
    retry_causes: outcome.retryCauses ?? null,
    ...(outcome.fallback === undefined ? {} : { fallback_from: outcome.fallback.from }),
  };
}

function modelOfAnswer(outcome: ItemOutcome): string | null {
  const model = outcome.response?.body['model'];
  return typeof model === 'string' && model !== '' ? model : null;
}

/** The `--metrics` line of a sample. */
export function sampleMetric(sample: RunSample, context: MetricsContext): SampleMetric {
  return {
    timestamp: new Date(sample.at).toISOString(),
    kind: 'sample',
    job: context.job,
    run_id: context.runId,
    interval_ms: sample.intervalMs,
    done: sample.done,
    failed: sample.failed,
    queued: sample.queued,
    in_flight: sample.inFlight,
    in_flight_by_server: sample.inFlightByServer,
    requests_per_s: sample.requestsPerS,
    tokens_per_s: sample.tokensPerS,
    rss_bytes: sample.rssBytes,
    heap_bytes: sample.heapBytes,
    gpus:
      sample.gpus?.map((gpu) => ({
        index: gpu.index,
        name: gpu.name,
        utilization_pct: gpu.utilizationPct,
        memory_used_bytes: gpu.memoryUsedBytes,
        memory_total_bytes: gpu.memoryTotalBytes,
      })) ?? null,
  };
}
