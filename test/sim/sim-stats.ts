/** What the simulator saw, as a plain JSON-able object (also served at `GET /__sim/stats`). */
export interface SimStats {
  /** Completion requests received with a readable prompt, faults and 404s included. */
  readonly requests: number;
  /** Completion requests answered 200. */
  readonly completed: number;
  /** Prompt tokens of the answers counted in `completed`, as their `usage` reports them. */
  readonly promptTokens: number;
  /** Tokens generated in the answers counted in `completed`. */
  readonly completionTokens: number;
  /** Faults injected, by kind (503 "Loading model" answers are not faults). */
  readonly faults: { readonly '500': number; readonly '429': number; readonly drop: number; readonly hang: number };
  /** Most completion requests open at once: in service plus waiting for a slot. */
  readonly maxConcurrent: number;
  /** Most completion requests holding a slot at once; never above `slots`. */
  readonly maxInService: number;
  /** Completion requests open now. */
  readonly inFlight: number;
  /** Completion requests received per prompt text: a count above 1 means it was sent again. */
  readonly byPrompt: Record<string, number>;
  /** Distinct `keep_alive` values received, as strings, in order of first sight. */
  readonly keepAlives: string[];
  /** Completion requests received per model. */
  readonly models: Record<string, number>;
  /** Ollama flavour: model loads the server made (requests that waited for one load share it). */
  readonly modelLoads: number;
  /**
   * With an API key: whether any request carried `Authorization: Bearer <key>`. Without one:
   * whether any request carried an `Authorization` header at all.
   */
  readonly authorizationSeen: boolean;
  /** Requests answered 429 by `limitConcurrency`. */
  readonly overLimit: number;
  /**
   * With `limitConcurrency`: each change of the number of requests being served, as
   * `[ms since the server started, requests served from then on]`, in order.
   */
  readonly servedTimeline: Array<readonly [number, number]>;
  /** With `recordArrivals`: when each completion request arrived, ms since the server started (`performance.now` based). */
  readonly arrivalsMs: number[];
}

/** Mutable counters behind `SimStats`; plain fields because they change on every request. */
export class SimStatsRecorder {
  requests = 0;
  completed = 0;
  promptTokens = 0;
  completionTokens = 0;
  error500 = 0;
  error429 = 0;
  drop = 0;
  hang = 0;
  maxConcurrent = 0;
  maxInService = 0;
  inFlight = 0;
  byPrompt = new Map<string, number>();
  keepAlives = new Set<string>();
  models = new Map<string, number>();
  modelLoads = 0;
  authorizationSeen = false;
  overLimit = 0;
  servedTimeline: Array<readonly [number, number]> = [];
  arrivalsMs: number[] = [];

  /** Records a received completion request and returns its 1-based ordinal. */
  receive(promptText: string, model: string): number {
    this.byPrompt.set(promptText, (this.byPrompt.get(promptText) ?? 0) + 1);
    this.models.set(model, (this.models.get(model) ?? 0) + 1);
    return ++this.requests;
  }

  open(): void {
    if (++this.inFlight > this.maxConcurrent) this.maxConcurrent = this.inFlight;
  }

  inService(count: number): void {
    if (count > this.maxInService) this.maxInService = count;
  }

  /** Zeroes every counter; requests still open stay counted in `inFlight`. */
  reset(): void {
    this.requests = 0;
    this.completed = 0;
    this.promptTokens = 0;
    this.completionTokens = 0;
    this.error500 = 0;
    this.error429 = 0;
    this.drop = 0;
    this.hang = 0;
    this.maxConcurrent = this.inFlight;
    this.maxInService = 0;
    this.byPrompt = new Map();
    this.keepAlives = new Set();
    this.models = new Map();
    this.modelLoads = 0;
    this.authorizationSeen = false;
    this.overLimit = 0;
    this.servedTimeline = [];
    this.arrivalsMs = [];
  }

  snapshot(): SimStats {
    return {
      requests: this.requests,
      completed: this.completed,
      promptTokens: this.promptTokens,
      completionTokens: this.completionTokens,
      faults: { '500': this.error500, '429': this.error429, drop: this.drop, hang: this.hang },
      maxConcurrent: this.maxConcurrent,
      maxInService: this.maxInService,
      inFlight: this.inFlight,
      byPrompt: Object.fromEntries(this.byPrompt),
      keepAlives: [...this.keepAlives],
      models: Object.fromEntries(this.models),
      modelLoads: this.modelLoads,
      authorizationSeen: this.authorizationSeen,
      overLimit: this.overLimit,
      servedTimeline: [...this.servedTimeline],
      arrivalsMs: [...this.arrivalsMs],
    };
  }
}
