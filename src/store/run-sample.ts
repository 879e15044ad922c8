/** One GPU as a sample saw it (nvidia-smi); a figure the driver does not report is null. */
export interface SampledGpu {
  readonly index: number;
  readonly name: string;
  /** Share of the last sampling period the GPU was busy, 0-100. */
  readonly utilizationPct: number | null;
  readonly memoryUsedBytes: number | null;
  readonly memoryTotalBytes: number | null;
}

/**
 * What a run looked like at one moment (a row of `samples`): taken when the run starts sending,
 * every few seconds while it runs, and when it stops. Counts are this run's, not the job's.
 */
export interface RunSample {
  readonly jobId: number;
  readonly runId: number;
  /** Epoch milliseconds. */
  readonly at: number;
  /** Milliseconds since the run's previous sample; 0 for its first. */
  readonly intervalMs: number;
  /** Prompts this run answered so far. */
  readonly done: number;
  /** Prompts this run gave up on so far. */
  readonly failed: number;
  /**
   * Prompts of this run neither finished nor on the wire: still in the job database, in the
   * worker pool's queue, waiting for a server or model load, or waiting to be retried.
   */
  readonly queued: number;
  /** Requests on the wire. */
  readonly inFlight: number;
  /** Requests on the wire per server URL (credentials removed); servers with none are left out. */
  readonly inFlightByServer: Readonly<Record<string, number>>;
  /** Requests that ended (answered or failed, retries included) per second over the interval; null for the first sample. */
  readonly requestsPerS: number | null;
  /** Completion tokens generated per second over the interval; null for the first sample. */
  readonly tokensPerS: number | null;
  /** Resident set size of the `batch` process. */
  readonly rssBytes: number;
  /** V8 heap in use. */
  readonly heapBytes: number;
  /** Each GPU, when nvidia-smi is on PATH and answered in time; null otherwise. */
  readonly gpus: readonly SampledGpu[] | null;
}
