/**
 * How one prompt ended. The scheduler produces these; the checkpoint store commits them and the
 * output writer turns them into OpenAI Batch output lines.
 */
export interface ItemOutcome {
  readonly customId: string;
  readonly status: 'done' | 'failed';
  /** Requests sent for this item in this run; the store adds them to earlier runs' count. */
  readonly attempts: number;
  /** The HTTP answer, when the server gave one (also for a failed 404). */
  readonly response?: {
    readonly statusCode: number;
    readonly requestId: string;
    readonly body: Readonly<Record<string, unknown>>;
  };
  /** Why it failed: a stable `code` (see src/errors.ts) and a message naming the fix. */
  readonly error?: { readonly code: string; readonly message: string };
  /** Server URL that answered (never with credentials). */
  readonly endpointUrl?: string;
  /** The model that answered (or was asked last). */
  readonly model?: string;
  /**
   * Set when `model` answered in place of the prompt's own (`--fallback`): that model, and why it
   * was not served.
   */
  readonly fallback?: { readonly from: string; readonly reason: string };
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  readonly latencyMs?: number;
  readonly ttftMs?: number;
  readonly modelLoadMs?: number;
  /** The answer parsed as JSON, when the request asked for a JSON shape and the answer has it. */
  readonly answer?: unknown;
  /**
   * Time from ready (taken from the job's pending prompts into the worker pool's queue) to its
   * first request on the wire: waiting for a free worker, a server, a model load. Undefined when
   * no request was sent (a server that never started).
   */
  readonly queueWaitMs?: number;
  /**
   * Why requests were sent again: error code -> requests that failed with it and were retried.
   * Undefined when the first request was the last. The store adds it to earlier runs' causes.
   */
  readonly retryCauses?: Readonly<Record<string, number>>;
  /** Epoch milliseconds. */
  readonly finishedAt: number;
}
