/** The labels of one series, as prom-client takes them. */
export type SeriesLabels = Readonly<Record<string, string>>;

/**
 * Totals by label set, kept in plain numbers and handed to prom-client when it is scraped (from a
 * metric's `collect`). Why: prom-client hashes and validates the labels at every `inc`/`observe`
 * (`labels()` only binds them), ~0.25-0.5 µs a call; a run's listener makes several per request,
 * which at 5,000 requests/s cost more than 1% of the main thread (bench:sampler). Here an event is
 * one Map lookup by a key the caller builds; the labels object is kept from the first event.
 */
export class LabelTally {
  readonly #series = new Map<string, { readonly labels: SeriesLabels; value: number }>();

  /** Adds `value` to the series `key` (one string per label set), created with `labels` when new. */
  add(key: string, labels: () => SeriesLabels, value = 1): void {
    const series = this.#series.get(key);
    if (series !== undefined) series.value += value;
    else this.#series.set(key, { labels: labels(), value });
  }

  /** Every series and its total, in the order first seen. */
  *entries(): IterableIterator<{ readonly labels: SeriesLabels; readonly value: number }> {
    yield* this.#series.values();
  }
}
