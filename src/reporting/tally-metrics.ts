import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { HistogramTally } from './histogram-tally.js';
import type { LabelTally } from './label-tally.js';

/** A metric's name, help line and label names, as prom-client takes them. */
export interface TallyMetricOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
}

/** A counter in `registry` whose series are `tally`'s totals at each scrape. */
export function tallyCounter(registry: Registry, tally: LabelTally, options: TallyMetricOptions): void {
  new Counter({
    ...options,
    registers: [registry],
    collect() {
      this.reset();
      for (const series of tally.entries()) this.inc(series.labels, series.value);
    },
  });
}

/** A gauge in `registry` whose series are `tally`'s values at each scrape. */
export function tallyGauge(registry: Registry, tally: LabelTally, options: TallyMetricOptions): void {
  new Gauge({
    ...options,
    registers: [registry],
    collect() {
      this.reset();
      for (const series of tally.entries()) this.set(series.labels, series.value);
    },
  });
}

/** What prom-client 15's Histogram keeps per series (lib/histogram.js `createBaseValues`). */
interface PromHistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket by upper bound, not cumulative. */
  readonly bucketValues: Record<number, number>;
  readonly sum: number;
  readonly count: number;
}

/**
 * A histogram in `registry` whose series are `tally`'s at each scrape: its `collect` replaces the
 * series prom-client holds (`hashMap`, which `observe` fills) by the tally's, so the exposition is
 * prom-client's own. `hashMap` is not prom-client's public API (it has no way to be handed bucket
 * counts): test/reporting/tally-metrics.test.ts checks that the exposition equals a plain
 * prom-client Histogram fed the same observations, so an upgrade that changes it fails there.
 */
export function tallyHistogram(registry: Registry, tally: HistogramTally, options: TallyMetricOptions): void {
  const bounds = tally.bounds;
  new Histogram({
    ...options,
    buckets: [...bounds],
    registers: [registry],
    collect() {
      const hashMap: Record<string, PromHistogramSeries> = {};
      // Keys that are not array indices: an object lists those first, whatever their order.
      let key = 0;
      for (const series of tally.entries()) {
        const bucketValues: Record<number, number> = {};
        for (let i = 0; i < bounds.length; i++) bucketValues[bounds[i]!] = series.counts[i]!;
        hashMap[`series ${key++}`] = { labels: series.labels, bucketValues, sum: series.sum, count: series.count };
      }
      (this as unknown as { hashMap: Record<string, PromHistogramSeries> }).hashMap = hashMap;
    },
  });
}
