/**
 * Percentiles over millions of samples in constant memory: log-spaced buckets, each 2% wide,
 * from 0.1 ms to ~1 day. A percentile is reported as its bucket's upper edge, so it is exact to
 * within 2%, plenty for p50/p95/p99 of request latencies.
 */
export class LatencyHistogram {
  static readonly #growth = 1.02;
  static readonly #minMs = 0.1;
  static readonly #logGrowth = Math.log(LatencyHistogram.#growth);
  readonly #counts: Uint32Array = new Uint32Array(1024);
  #total = 0;
  #max = 0;

  get count(): number {
    return this.#total;
  }

  record(valueMs: number): void {
    if (!(valueMs >= 0)) return;
    const bucket = valueMs <= LatencyHistogram.#minMs
      ? 0
      : Math.min(this.#counts.length - 1, Math.ceil(Math.log(valueMs / LatencyHistogram.#minMs) / LatencyHistogram.#logGrowth));
    this.#counts[bucket]! += 1;
    this.#total += 1;
    if (valueMs > this.#max) this.#max = valueMs;
  }

  /** The value below which `p` percent of samples lie; undefined when empty. */
  percentile(p: number): number | undefined {
    if (this.#total === 0) return undefined;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#total));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) {
        const edge = LatencyHistogram.#minMs * LatencyHistogram.#growth ** i;
        return Math.min(edge, this.#max);
      }
    }
    return this.#max;
  }
}
