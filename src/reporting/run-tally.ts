import type { PromptItem } from '../prompts/prompt-item.js';
import { requestModel } from '../prompts/request-model.js';
import type { ItemOutcome } from '../store/item-outcome.js';
import { HistogramTally, type HistogramSeries } from './histogram-tally.js';
import { LabelTally, type TallySeries } from './label-tally.js';
import { isWarmStart } from './warm-start.js';

/** Latency buckets, in seconds: local answers in tens of milliseconds up to long generations. */
const latencyBuckets = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const firstTokenBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const loadBuckets = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * A model's series, each made when first counted (a series never counted is not exposed). The
 * records' fields are all set when made (undefined until counted): one shape for every record.
 */
interface ModelSeries {
  readonly labels: { readonly model: string };
  readonly routes: Map<string, RouteSeries>;
  latency: HistogramSeries | undefined;
  firstToken: HistogramSeries | undefined;
  loadTime: HistogramSeries | undefined;
  loads: TallySeries | undefined;
  promptTokens: TallySeries | undefined;
  completionTokens: TallySeries | undefined;
}

/** A server's requests on the wire. */
interface ServerSeries {
  readonly url: string;
  inFlight: TallySeries | undefined;
}

/** The requests of one model on one server that ended, by outcome (ok, or an error code). */
interface RouteSeries {
  readonly model: ModelSeries;
  readonly server: ServerSeries;
  ok: TallySeries | undefined;
  readonly failed: Map<string, TallySeries>;
}

/**
 * A run's counts for its Prometheus metrics (`RunMetrics` exposes them), kept per event on the
 * scheduler's hot path: a record per server, per model and per model × server holds its series,
 * each found by one Map lookup (by URL, by model name), so a request costs a few lookups and
 * additions and makes no string or object (bench:sampler's "taken apart" line). Nothing is kept
 * per prompt, and no label takes a custom_id.
 */
export class RunTally {
  /** Requests that ended: model, server, outcome. */
  readonly requests = new LabelTally();
  /** Prompts this run finished: outcome. */
  readonly finished = new LabelTally();
  /** Requests sent again: cause. */
  readonly retries = new LabelTally();
  /** By model: */
  readonly promptTokens = new LabelTally();
  readonly completionTokens = new LabelTally();
  readonly loads = new LabelTally();
  readonly latency = new HistogramTally(latencyBuckets);
  readonly firstToken = new HistogramTally(firstTokenBuckets);
  readonly loadTime = new HistogramTally(loadBuckets);
  /** Requests on the wire: server. */
  readonly inFlight = new LabelTally();
  readonly #servers = new Map<string, ServerSeries>();
  readonly #models = new Map<string, ModelSeries>();
  readonly #causes = new Map<string, TallySeries>();
  /**
   * The prompt whose request ended last, and its server, until the next retry or outcome: the
   * scheduler tells a failed request's retry (or its prompt's outcome) right after its end, with
   * no event between (`SchedulerListener.onRetry`). A register, not a Map by custom_id: nothing
   * is stored or looked up per request for it.
   */
  #ended: PromptItem | undefined;
  #endedServer: ServerSeries | undefined;
  #done: TallySeries | undefined;
  #failed: TallySeries | undefined;
  readonly #onNewServer: (url: string) => void;

  /** `onNewServer`: told the first time a request goes to a server. */
  constructor(onNewServer: (url: string) => void) {
    this.#onNewServer = onNewServer;
  }

  requestStarted(serverUrl: string): void {
    const server = this.#server(serverUrl);
    if (server.inFlight === undefined) {
      server.inFlight = this.inFlight.series({ server: serverUrl });
      this.#onNewServer(serverUrl);
    }
    server.inFlight.value += 1;
  }

  requestEnded(item: PromptItem, serverUrl: string): void {
    const server = this.#server(serverUrl);
    if (server.inFlight !== undefined) server.inFlight.value -= 1;
    this.#ended = item;
    this.#endedServer = server;
  }

  /**
   * `item` is sent again after an error `code`: counted as a retry, and as a request that ended
   * with `code` when a request of it just ended (none did when no server could be had).
   */
  retried(item: PromptItem, code: string): void {
    let cause = this.#causes.get(code);
    if (cause === undefined) this.#causes.set(code, (cause = this.retries.series({ cause: code })));
    cause.value += 1;
    const server = this.#ended === item ? this.#endedServer : undefined;
    this.#ended = this.#endedServer = undefined;
    if (server !== undefined) this.#countRequest(this.#route(server.url, requestModel(item) ?? 'default'), code);
  }

  /**
   * A prompt's outcome: counted as finished, its last request (when there was one: the outcome
   * names its server) as ended with `ok` or its error code, and an answer's latency and tokens.
   */
  finishedPrompt(outcome: ItemOutcome): void {
    this.#ended = this.#endedServer = undefined;
    // The model the server named, else the one asked for (the scheduler's outcome says which).
    const route = outcome.attempts > 0 && outcome.endpointUrl !== undefined ? this.#route(outcome.endpointUrl, outcome.model ?? 'default') : undefined;
    if (outcome.status !== 'done') {
      (this.#failed ??= this.finished.series({ outcome: 'failed' })).value += 1;
      if (route !== undefined) this.#countRequest(route, outcome.error?.code ?? 'FAILED');
      return;
    }
    (this.#done ??= this.finished.series({ outcome: 'done' })).value += 1;
    if (route !== undefined) this.#countRequest(route, 'ok');
    this.#observeAnswer(route?.model ?? this.#model(outcome.model ?? 'default'), outcome);
  }

  #observeAnswer(series: ModelSeries, outcome: ItemOutcome): void {
    const labels = series.labels;
    if (outcome.latencyMs !== undefined) (series.latency ??= this.latency.series(labels)).observe(outcome.latencyMs / 1000);
    if (outcome.ttftMs !== undefined) (series.firstToken ??= this.firstToken.series(labels)).observe(outcome.ttftMs / 1000);
    if (outcome.promptTokens !== undefined) (series.promptTokens ??= this.promptTokens.series(labels)).value += outcome.promptTokens;
    if (outcome.completionTokens !== undefined) (series.completionTokens ??= this.completionTokens.series(labels)).value += outcome.completionTokens;
    if (outcome.modelLoadMs !== undefined && !isWarmStart(outcome.modelLoadMs)) {
      (series.loads ??= this.loads.series(labels)).value += 1;
      (series.loadTime ??= this.loadTime.series(labels)).observe(outcome.modelLoadMs / 1000);
    }
  }

  #countRequest(route: RouteSeries, outcome: string): void {
    if (outcome === 'ok') {
      (route.ok ??= this.#requestSeries(route, outcome)).value += 1;
      return;
    }
    let failed = route.failed.get(outcome);
    if (failed === undefined) route.failed.set(outcome, (failed = this.#requestSeries(route, outcome)));
    failed.value += 1;
  }

  #requestSeries(route: RouteSeries, outcome: string): TallySeries {
    return this.requests.series({ model: route.model.labels.model, server: route.server.url, outcome });
  }

  /** The series of `model` on `serverUrl`, made when first asked for. */
  #route(serverUrl: string, model: string): RouteSeries {
    const series = this.#model(model);
    let route = series.routes.get(serverUrl);
    if (route === undefined) series.routes.set(serverUrl, (route = { model: series, server: this.#server(serverUrl), ok: undefined, failed: new Map() }));
    return route;
  }

  #model(model: string): ModelSeries {
    let series = this.#models.get(model);
    if (series === undefined) {
      series = { labels: { model }, routes: new Map(), latency: undefined, firstToken: undefined, loadTime: undefined, loads: undefined, promptTokens: undefined, completionTokens: undefined };
      this.#models.set(model, series);
    }
    return series;
  }

  #server(serverUrl: string): ServerSeries {
    let server = this.#servers.get(serverUrl);
    if (server === undefined) this.#servers.set(serverUrl, (server = { url: serverUrl, inFlight: undefined }));
    return server;
  }
}
