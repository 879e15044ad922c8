/** Throughput and latency at one concurrency. */
export interface ConcurrencyLevel {
  /** Requests kept in flight at once. */
  readonly concurrency: number;
  /** Requests sent at this level. */
  readonly requests: number;
  /** Completion tokens of all requests / wall time from the first send to the last answer. */
  readonly completionTokensPerSecond: number;
  readonly requestsPerSecond: number;
  readonly p50LatencyMs: number;
  readonly p95LatencyMs: number;
}

/** What `measureConcurrency()` found: levels 1, 2, 4, … and the one to use. */
export interface ConcurrencyCurve {
  readonly url: string;
  readonly levels: readonly ConcurrencyLevel[];
  /** The smallest concurrency within 5% of the best throughput: more only adds latency. */
  readonly recommended: number;
  readonly reason: string;
}
