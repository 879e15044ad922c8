import type { RateLimitState } from './rate-limit-headers.js';

/** The OpenAI endpoints a request can target. */
export type PromptEndpoint = '/v1/chat/completions' | '/v1/completions';

/** The server flavours `batch` knows how to talk to. */
export type ServerType = 'openai' | 'llama-server' | 'ollama';

export interface CompletionRequest {
  readonly endpoint: PromptEndpoint;
  /** OpenAI-style request body, `model` already resolved. */
  readonly body: Readonly<Record<string, unknown>>;
  /** Per-request deadline; the request is aborted and fails retryably past it. */
  readonly timeoutMs: number;
  /** Aborts the request (second Ctrl-C). */
  readonly signal?: AbortSignal;
}

export interface CompletionTimings {
  /** Wall time from sending the request to the last byte of the answer. */
  readonly latencyMs: number;
  /** Time to first token, when the answer was streamed. */
  readonly ttftMs?: number;
  /** Time the server spent loading the model for this request (Ollama `load_duration`). */
  readonly modelLoadMs?: number;
  /** Prompt processing / generation time as the server reports it (llama-server `timings`). */
  readonly promptMs?: number;
  readonly predictedMs?: number;
}

export interface CompletionResult {
  /** HTTP status of the answer (200 for success). */
  readonly statusCode: number;
  /** The server's request id, else one `batch` made up. */
  readonly requestId: string;
  /**
   * The response body in OpenAI format for the request's endpoint (`chat.completion` or
   * `text_completion`), whatever the server's native format was.
   */
  readonly body: Readonly<Record<string, unknown>>;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly timings: CompletionTimings;
  /** The server's `x-ratelimit-*` budgets after this request, when it reports them (hosted APIs). */
  readonly rateLimit?: RateLimitState;
}

/** What an endpoint tells about itself. */
export interface EndpointInfo {
  readonly type: ServerType;
  /** Concurrency the server can really run at once (llama-server `total_slots`), if it says. */
  readonly slots?: number;
  /** Context size per slot, if the server says. */
  readonly contextSize?: number;
  /** Models the server can serve (ids as requests must name them). */
  readonly models: readonly string[];
}

/**
 * One model server endpoint. Implementations keep one keep-alive connection pool per endpoint
 * and never retry: retries belong to the scheduler.
 */
export interface Backend {
  readonly type: ServerType;
  /** Base URL, without credentials. */
  readonly url: string;
  /**
   * Sends one request. Resolves with an OpenAI-shaped result, or rejects with a `BackendError`
   * whose `retryable` and `retryAfterMs` drive the scheduler's retry policy.
   */
  complete(request: CompletionRequest): Promise<CompletionResult>;
  /** Reads slots, context and models. Rejects with a `BackendError` when unreachable. */
  describe(): Promise<EndpointInfo>;
  /** 'ok' when ready, 'loading' while a model loads (503), 'down' when unreachable. */
  health(): Promise<'ok' | 'loading' | 'down'>;
  /** Closes the connection pool. */
  close(): Promise<void>;
}
