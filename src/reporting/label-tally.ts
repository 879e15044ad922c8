/** The labels of one series, as prom-client takes them. */
export type SeriesLabels = Readonly<Record<string, string>>;

/** One series of a `LabelTally`: its labels, and its value, which its owner adds to directly. */
export interface TallySeries {
  readonly labels: SeriesLabels;
  value: number;
}

/**
 * Series kept in plain numbers and handed to prom-client when it is scraped (from a metric's
 * `collect`, see tally-metrics.ts). Why: prom-client hashes and validates the labels at every
 * `inc`/`set` (`labels()` only binds them), ~0.25-0.5 µs a call; a run's listener makes several
 * per request. Here the listener keeps each series it made (in a record per server, model or
 * route) and counting is `series.value += n`: no lookup, no string built, nothing allocated.
 */
export class LabelTally {
  readonly #series: TallySeries[] = [];

  /** A new series with `labels`, at 0. One per label set: the caller keeps it and adds to it. */
  series(labels: SeriesLabels): TallySeries {
    const series = { labels, value: 0 };
    this.#series.push(series);
    return series;
  }

  /** Every series, in the order made. */
  entries(): readonly TallySeries[] {
    return this.#series;
  }
}
