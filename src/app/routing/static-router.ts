// Long file: the breakers, their probe timers, the waiting prompts and the fleet's notices all
// act on the same endpoint records; split apart, each part would need those records laid open.
import { AppError } from '../../errors.js';
import { checkNumber, optionError } from '../../util/check-option.js';
import type { Backend, EndpointInfo } from '../../backends/backend.js';
import { EndpointHealth, failureKind, type EndpointHealthOptions } from './endpoint-health.js';
import type { EndpointReturn, FleetListener } from '../../scheduler/fleet-listener.js';
import { leastLoaded } from './least-loaded.js';
import type { AcquireOptions, ModelLoadStats, ReleaseVerdict, RouteLease, RouteOutcome, Router } from '../../scheduler/router.js';
import type { GivenEndpoint, LateEndpoint, StaticEndpoint } from './static-endpoint.js';
import { defaults } from '../../defaults.js';

export type { LateEndpoint, ReadyEndpoint, StaticEndpoint } from './static-endpoint.js';

/** The verdict of nearly every release: one object, not one per request. */
const notExcused: ReleaseVerdict = Object.freeze({ excused: false });

export interface StaticRouterOptions {
  /** The circuit breakers' thresholds and probe backoff. */
  readonly health?: EndpointHealthOptions;
  /**
   * How long every server that serves a model may stay down before prompts waiting for one give up
   * with ALL_SERVERS_DOWN (the run then ends, resumable).
   * @default 3600000
   */
  readonly maxDownMs?: number;
  readonly listener?: FleetListener;
  /** Clock (epoch ms), injectable for tests. @default Date.now */
  readonly now?: () => number;
}

interface Endpoint {
  readonly url: string;
  backend: Backend | undefined;
  info: EndpointInfo | undefined;
  readonly open: LateEndpoint['open'] | undefined;
  readonly given: GivenEndpoint;
  readonly health: EndpointHealth;
  inFlight: number;
  probe: NodeJS.Timeout | undefined;
  /** It has answered a request: a later return is "again", not its first answer. */
  answered: boolean;
  /** Its going down was announced on its own (onEndpointDown), so its return is too. */
  announcedDown: boolean;
}

interface Waiter {
  readonly model: string | undefined;
  readonly avoid: string | undefined;
  /** Its own down bound (`--fallback-after`), else the router's `--max-down`. */
  readonly maxDownMs: number | undefined;
  readonly resolve: (lease: RouteLease) => void;
  readonly reject: (error: unknown) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Routes to servers the user runs (`--server`, `--servers`): each request goes to the server that
 * serves its model with the fewest requests in flight relative to its slots, so each server's
 * share follows its capacity. A circuit breaker per server (EndpointHealth) keeps traffic off a
 * failing one and probes it back in; when no server of a model is up, its prompts wait here (the
 * run pauses, no retry spent) until one answers, for at most `maxDownMs`.
 */
export class StaticRouter implements Router {
  readonly #endpoints: Endpoint[];
  readonly #waiters: Waiter[] = [];
  readonly #maxDownMs: number;
  readonly #listener: FleetListener | undefined;
  readonly #now: () => number;
  readonly capacity: number | undefined;
  #allDownSince: number | undefined;
  #closed = false;

  constructor(endpoints: readonly StaticEndpoint[], options: StaticRouterOptions = {}) {
    if (!Array.isArray(endpoints) || endpoints.length === 0) throw optionError('endpoints', 'a non-empty array of endpoints', endpoints);
    this.#maxDownMs = checkNumber('maxDownMs', options.maxDownMs ?? defaults.maxDownMs, 0);
    this.#listener = options.listener;
    this.#now = options.now ?? Date.now;
    this.#endpoints = endpoints.map((e) => ({
      url: 'backend' in e ? e.backend.url : e.url,
      backend: 'backend' in e ? e.backend : undefined,
      info: 'backend' in e ? e.info : undefined,
      open: 'backend' in e ? undefined : e.open.bind(e),
      given: { slots: e.slots, models: e.models, weight: e.weight },
      health: new EndpointHealth(options.health),
      inFlight: 0,
      probe: undefined,
      answered: false,
      announcedDown: false,
    }));
    const known = this.#endpoints.map((e) => e.given.slots ?? e.info?.slots).filter((s): s is number => s !== undefined);
    this.capacity = known.length === 0 ? undefined : this.#endpoints.reduce((sum, e) => sum + this.#slotsOf(e), 0);
    const start = this.#now();
    for (const [i, e] of this.#endpoints.entries()) {
      if (e.backend !== undefined) continue;
      e.health.markDown(start, (endpoints[i] as LateEndpoint).loading === true);
      this.#scheduleProbe(e);
    }
    this.#checkAllDown();
  }

  acquire(model: string | undefined, options: AcquireOptions = {}): Promise<RouteLease> {
    if (this.#closed) return Promise.reject(new AppError('INTERRUPTED', 'the router was closed: no more requests are sent'));
    const now = this.tryAcquire(model, options);
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<RouteLease>((resolve, reject) => {
      const waiter: Waiter = { model, avoid: options.avoid, maxDownMs: options.maxDownMs, resolve, reject, timer: undefined };
      this.#waiters.push(waiter);
      this.#armDeadline(waiter);
    });
  }

  tryAcquire(model: string | undefined, options: AcquireOptions = {}): RouteLease | undefined {
    if (this.#closed) return undefined;
    const chosen = this.#choose(model, options.avoid);
    return chosen === undefined ? undefined : this.#lease(chosen, model);
  }

  hasAlternative(model: string | undefined, url: string): boolean {
    return this.#candidates(model).some((e) => e.url !== url && this.#accepts(e));
  }

  residentModels(): readonly string[] {
    return [];
  }

  /**
   * The models the fleet serves, when every server's are known (given in the servers file, or
   * listed by a server that answered at start); undefined when one server's are not.
   */
  knownModels(): ReadonlySet<string> | undefined {
    const lists = this.#endpoints.map((e) => e.given.models ?? e.info?.models ?? []);
    return lists.some((models) => models.length === 0) ? undefined : new Set(lists.flat());
  }

  loadStats(): readonly ModelLoadStats[] {
    return [];
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const e of this.#endpoints) clearTimeout(e.probe);
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new AppError('INTERRUPTED', 'the router was closed while a prompt waited for a server'));
    }
    await Promise.all(this.#endpoints.map((e) => e.backend?.close()));
  }

  /** Endpoints that serve `model`; when none lists it, all of them, so that the server's own 404 reaches the user. */
  #candidates(model: string | undefined): Endpoint[] {
    if (model === undefined) return this.#endpoints;
    const serving = this.#endpoints.filter((e) => {
      const models = e.given.models ?? e.info?.models ?? [];
      return models.length === 0 || models.includes(model);
    });
    return serving.length > 0 ? serving : this.#endpoints;
  }

  #accepts(e: Endpoint): boolean {
    return e.backend !== undefined && e.health.accepts(e.inFlight);
  }

  /** The server's slots as given or reported; a server that says nothing counts as the average of those that do. */
  #slotsOf(e: Endpoint): number {
    const own = e.given.slots ?? e.info?.slots;
    if (own !== undefined) return own;
    const known = this.#endpoints.map((o) => o.given.slots ?? o.info?.slots).filter((s): s is number => s !== undefined);
    return known.length === 0 ? 1 : known.reduce((a, b) => a + b, 0) / known.length;
  }

  /** Least outstanding relative to capacity, among the servers of `model` that take requests now. */
  #choose(model: string | undefined, avoid: string | undefined): Endpoint | undefined {
    // One server (the common `--server URL`): no candidate lists built per request.
    const only = this.#endpoints.length === 1 ? this.#endpoints[0]! : undefined;
    if (only !== undefined) return this.#accepts(only) ? only : undefined;
    const ready = this.#candidates(model).filter((e) => this.#accepts(e));
    const chosen = leastLoaded(
      ready.map((e) => ({ url: e.url, inFlight: e.inFlight, share: this.#slotsOf(e) * (e.given.weight ?? 1), endpoint: e })),
      avoid,
    );
    return chosen?.endpoint;
  }

  #lease(e: Endpoint, model: string | undefined): RouteLease {
    e.inFlight += 1;
    const leasedAt = this.#now();
    let released = false;
    return {
      backend: e.backend!,
      model,
      release: (outcome?: RouteOutcome): ReleaseVerdict => {
        if (released) return notExcused;
        released = true;
        e.inFlight -= 1;
        const verdict = this.#learn(e, outcome, leasedAt);
        this.#wake();
        return verdict;
      },
    };
  }

  /** What a request's end says about its endpoint. */
  #learn(e: Endpoint, outcome: RouteOutcome | undefined, leasedAt: number): ReleaseVerdict {
    // Not sent (stopped while waiting): says nothing about the server.
    if (outcome === undefined || this.#closed) return notExcused;
    const wasDownSince = e.health.downSince;
    // Read before this outcome changes them; only a server going down or coming back uses it.
    const back = wasDownSince === undefined && outcome.error === undefined ? undefined : { url: e.url, again: e.answered, loaded: e.health.loadingSeen };
    // An answer to a request sent before the server was found down is older news than the failures
    // that found it so (a server stopping answers its last requests while new ones are refused):
    // it does not bring the server back. A probe, or a request sent since, does.
    const answered = outcome.error === undefined || failureKind(outcome.error) === undefined;
    if (answered && wasDownSince !== undefined && leasedAt < wasDownSince) {
      e.answered = true;
      return notExcused;
    }
    if (outcome.error === undefined) {
      e.health.recordAnswer();
    } else {
      const verdict = e.health.recordFailure(outcome.error, this.#now());
      if (verdict.opened) {
        // When it was the last one up, the pause notice says it all.
        if (wasDownSince === undefined && !this.#allDown()) {
          e.announcedDown = true;
          this.#listener?.onEndpointDown?.(e.url, e.health.loading, !this.#hasOtherUp(e));
        }
        this.#scheduleProbe(e);
        this.#checkAllDown(back);
        return { excused: verdict.excused };
      }
    }
    // A failure that says the server is up (a 4xx, a 429) is an answer too.
    if (outcome.error === undefined || failureKind(outcome.error) === undefined) e.answered = true;
    if (wasDownSince !== undefined && e.health.downSince === undefined) {
      clearTimeout(e.probe);
      e.probe = undefined;
      // Only a server whose going down was announced on its own is announced back on its own, and
      // not when it ends a pause: the resume notice names it.
      if (e.announcedDown && this.#allDownSince === undefined) this.#listener?.onEndpointUp?.(e.url, this.#now() - wasDownSince, back);
      e.announcedDown = false;
      this.#checkAllDown(back);
    }
    return notExcused;
  }

  /** Whether another server that serves some model of `e` takes requests now. */
  #hasOtherUp(e: Endpoint): boolean {
    const modelsOf = (o: Endpoint): readonly string[] => o.given.models ?? o.info?.models ?? [];
    const mine = modelsOf(e);
    return this.#endpoints.some((o) => {
      if (o === e || o.health.state === 'open') return false;
      const theirs = modelsOf(o);
      return mine.length === 0 || theirs.length === 0 || theirs.some((m) => mine.includes(m));
    });
  }

  #scheduleProbe(e: Endpoint): void {
    if (this.#closed || e.probe !== undefined) return;
    e.probe = setTimeout(() => void this.#probe(e), e.health.probeDelayMs());
  }

  /** One half-open probe: the server's health check (or, for one never reached, opening it). */
  async #probe(e: Endpoint): Promise<void> {
    let result: 'ok' | 'loading' | 'down';
    if (e.backend === undefined) {
      try {
        const opened = await e.open!();
        if (this.#closed) {
          await opened.backend.close();
          return;
        }
        e.backend = opened.backend;
        e.info = opened.info;
        result = 'ok';
        this.#listener?.onJoined?.(e.url);
      } catch (error) {
        result = (error as { statusCode?: unknown }).statusCode === 503 ? 'loading' : 'down';
      }
    } else {
      result = await e.backend.health();
    }
    e.probe = undefined;
    if (this.#closed) return;
    e.health.recordProbe(result);
    if (e.health.state === 'open') this.#scheduleProbe(e);
    this.#checkAllDown();
    this.#wake();
  }

  /** Hands free endpoints to waiting prompts, in the order they began to wait. */
  #wake(): void {
    for (let i = 0; i < this.#waiters.length; ) {
      const waiter = this.#waiters[i]!;
      const chosen = this.#choose(waiter.model, waiter.avoid);
      if (chosen === undefined) {
        i += 1;
        continue;
      }
      this.#waiters.splice(i, 1);
      clearTimeout(waiter.timer);
      waiter.resolve(this.#lease(chosen, waiter.model));
    }
    for (const waiter of this.#waiters) this.#armDeadline(waiter);
  }

  /**
   * Gives a waiting prompt until `maxDownMs` after the last of its model's servers went down. A
   * server on trial (one request out after a good probe) is not down; its prompts wait without a deadline.
   */
  #armDeadline(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    waiter.timer = undefined;
    const candidates = this.#candidates(waiter.model);
    if (candidates.some((e) => e.health.state !== 'open')) return;
    const since = Math.max(...candidates.map((e) => e.health.downSince ?? this.#now()));
    const bound = waiter.maxDownMs ?? this.#maxDownMs;
    const flag = waiter.maxDownMs === undefined ? '--max-down' : '--fallback-after';
    const left = Math.max(0, since + bound - this.#now());
    waiter.timer = setTimeout(() => {
      const at = this.#waiters.indexOf(waiter);
      if (at === -1) return;
      this.#waiters.splice(at, 1);
      const urls = candidates.map((e) => e.url).join(', ');
      waiter.reject(
        new AppError(
          'ALL_SERVERS_DOWN',
          `every server${waiter.model === undefined ? '' : ` that serves model "${waiter.model}"`} (${urls}) has been down since ${new Date(since).toISOString()}, longer than ${flag} ${bound / 1000} s: start them (or raise ${flag})`,
        ),
      );
    }, left);
  }

  /**
   * Whether no server is known up: every one is down, loading its model, or on trial after a good
   * probe. The run is paused, whether the servers failed or are loading, until one answers a request:
   * a probe that says "ok" while requests still get 503 (a server whose model list answers during
   * the load) must not end the pause and start it again every second.
   */
  #allDown(): boolean {
    return this.#endpoints.every((e) => e.health.state !== 'closed');
  }

  /** Tells the listener when every server is down, and when one (`back`, the one that changed) is back. */
  #checkAllDown(back?: EndpointReturn): void {
    const allDown = this.#allDown();
    if (allDown && this.#allDownSince === undefined) {
      this.#allDownSince = this.#now();
      this.#listener?.onAllDown?.(this.#allDownSince, this.#endpoints.every((e) => e.health.loadingSeen));
    } else if (!allDown && this.#allDownSince !== undefined) {
      const downMs = this.#now() - this.#allDownSince;
      this.#allDownSince = undefined;
      this.#listener?.onRecovered?.(downMs, back);
    }
    for (const waiter of this.#waiters) this.#armDeadline(waiter);
  }
}
