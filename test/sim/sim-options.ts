/** Which real server the simulator imitates; it decides which endpoints exist (others answer 404). */
export type SimFlavour = 'llama-server' | 'ollama' | 'openai';

/** What the simulator does with one completion request. `ok` answers normally. */
export type SimFault = 'ok' | '500' | '429' | 'drop' | 'hang';

/** A completion request as the simulator sees it, for `serviceMs` and `script` callbacks. */
export interface SimRequest {
  /** Request path without the query string, e.g. `/v1/chat/completions` or `/api/generate`. */
  readonly path: string;
  /** The model the request names, or the server's first model when it names none. */
  readonly model: string;
  /** Content of the last user message (chat) or the `prompt` string (completions, generate). */
  readonly promptText: string;
  /** Whether the client asked for a streamed answer (SSE for `/v1/*`, NDJSON for `/api/*`). */
  readonly stream: boolean;
  /** The parsed JSON body. */
  readonly body: Readonly<Record<string, unknown>>;
}

/** Random faults, each drawn per completion request from the seeded PRNG. Rates are 0..1 and add up to at most 1. */
export interface SimFaults {
  /** Share of requests answered 500 `{"error":{…"type":"server_error"}}`. @default 0 */
  readonly error500Rate?: number;
  /** Share of requests answered 429 with a `Retry-After` header. @default 0 */
  readonly error429Rate?: number;
  /** `Retry-After` sent with each 429, in seconds. @default 1 */
  readonly retryAfterSeconds?: number;
  /** Share of requests whose socket is destroyed without an answer. @default 0 */
  readonly dropRate?: number;
  /**
   * Share of requests that take a slot and never answer, until the client gives up and closes
   * its socket (which frees the slot): a hung llama-server slot. @default 0
   */
  readonly hangRate?: number;
}

export interface SimServerOptions {
  /** The server imitated: its endpoints, body shapes and error shapes. @default 'llama-server' */
  readonly flavour?: SimFlavour;
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one (read it back from `SimServer.port`). @default 0 */
  readonly port?: number;
  /**
   * Requests served at once; later ones wait in FIFO order, without bound, like llama-server's
   * `--parallel`. @default 4
   */
  readonly slots?: number;
  /**
   * Time one request holds its slot, in milliseconds, fixed or per request. 0 answers on the next
   * turn of the event loop without a timer, for throughput benchmarks. @default 0
   */
  readonly serviceMs?: number | ((request: SimRequest) => number);
  /** Tokens generated per answer, capped by the request's `max_tokens` / `num_predict`. @default 16 */
  readonly completionTokens?: number;
  /**
   * Models served. A request naming another model gets 404 in the flavour's error shape; a
   * request naming none is served by the first. @default ['sim-model']
   */
  readonly models?: readonly string[];
  /**
   * Model load time in milliseconds. llama-server and openai flavours: `/health` and completions
   * answer 503 "Loading model" until `loadMs` after start. Ollama flavour: the first request for
   * each model waits `loadMs` and reports it as `load_duration`; later requests report ~0
   * (50 µs) until the model is unloaded (`keep_alive`). @default 0
   */
  readonly loadMs?: number;
  /** Context size per slot reported by `/props`, `/slots` and `/api/ps`. @default 4096 */
  readonly contextSize?: number;
  /** `model_path` reported by llama-server's `/props`. @default the first model */
  readonly modelPath?: string;
  /** Random faults on completion endpoints (never on `/health`, `/props`, `/v1/models`, `/api/tags`). */
  readonly faults?: SimFaults;
  /** Seed of the PRNG that draws faults, so that a run is reproducible. @default 1 */
  readonly seed?: number;
  /**
   * Forces the fate of the n-th completion request (1-based, counted since start or the last
   * `resetStats()`); `undefined` falls back to the fault rates.
   */
  readonly script?: (n: number, request: SimRequest) => SimFault | undefined;
  /**
   * A request that asks for JSON (OpenAI `response_format`, llama-server's `json_schema`, Ollama's
   * `format`) is answered with an instance of its schema (`{"answer": …}` for any JSON). These
   * shares of prompts, chosen by a hash of the prompt text (the same prompts on every run, in any
   * order; `jsonFate` in json-answers.ts tells which), get broken answers instead: `onceRate`
   * answers text that is not JSON the first time and valid JSON after; `alwaysRate` answers JSON
   * that does not match the schema every time. They add up to at most 1. @default none
   */
  readonly invalidJson?: { readonly onceRate?: number; readonly alwaysRate?: number };
  /**
   * When set, every endpoint but `/health`, `/v1/health`, Ollama's `/` and `/__sim/*` answers 401
   * unless the request carries `Authorization: Bearer <apiKey>`.
   */
  readonly apiKey?: string;
  /**
   * A concurrency cap like a hosted API's: a completion request arriving while `max` are being
   * served is answered 429 at once (no `Retry-After`), in the flavour's error shape. How many were
   * served over time is recorded in `SimStats.servedTimeline`.
   */
  readonly limitConcurrency?: { readonly max: number };
  /**
   * Answer ids derived from the prompt and `created` 0 in OpenAI bodies, so that two runs of the
   * same prompts get byte-identical answers. @default false
   */
  readonly reproducibleAnswers?: boolean;
  /** Record when each completion request arrived (`SimStats.arrivalsMs`). @default false */
  readonly recordArrivals?: boolean;
}

/** Options with defaults applied and values checked. */
export interface ResolvedSimOptions {
  readonly flavour: SimFlavour;
  readonly host: string;
  readonly port: number;
  readonly slots: number;
  readonly serviceMs: number | ((request: SimRequest) => number);
  readonly completionTokens: number;
  readonly models: readonly string[];
  readonly loadMs: number;
  readonly contextSize: number;
  readonly modelPath: string;
  readonly error500Rate: number;
  readonly error429Rate: number;
  readonly retryAfterSeconds: number;
  readonly dropRate: number;
  readonly hangRate: number;
  readonly seed: number;
  readonly script: ((n: number, request: SimRequest) => SimFault | undefined) | undefined;
  readonly apiKey: string | undefined;
  readonly invalidJsonOnceRate: number;
  readonly invalidJsonAlwaysRate: number;
  readonly limitConcurrency: { readonly max: number } | undefined;
  readonly reproducibleAnswers: boolean;
  readonly recordArrivals: boolean;
}

const flavours: readonly SimFlavour[] = ['llama-server', 'ollama', 'openai'];

function describe(value: unknown): string {
  return typeof value === 'string' ? `\`${JSON.stringify(value)}\`` : `\`${String(value)}\` (${typeof value})`;
}

function check(ok: boolean, name: string, expected: string, value: unknown): void {
  if (!ok) throw new TypeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
}

function integer(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  check(Number.isInteger(value) && value >= min, name, `an integer >= ${min}`, value);
  return value;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  check(typeof value === 'number' && Number.isFinite(value) && value >= 0, name, 'a finite number >= 0', value);
  return value;
}

function rate(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  check(typeof value === 'number' && value >= 0 && value <= 1, name, 'a number from 0 to 1', value);
  return value;
}

/** Applies defaults and validates, once, at start. */
export function resolveSimOptions(options: SimServerOptions = {}): ResolvedSimOptions {
  const flavour = options.flavour ?? 'llama-server';
  check(flavours.includes(flavour), 'flavour', `one of ${flavours.join(', ')}`, flavour);
  const models = options.models ?? ['sim-model'];
  check(
    Array.isArray(models) && models.length > 0 && models.every((model) => typeof model === 'string' && model !== ''),
    'models',
    'a non-empty array of non-empty strings',
    models,
  );
  const serviceMs = options.serviceMs ?? 0;
  if (typeof serviceMs !== 'function') nonNegative('serviceMs', serviceMs, 0);
  const faults = options.faults ?? {};
  const resolved: ResolvedSimOptions = {
    flavour,
    host: options.host ?? '127.0.0.1',
    port: integer('port', options.port, 0, 0),
    slots: integer('slots', options.slots, 4, 1),
    serviceMs,
    completionTokens: integer('completionTokens', options.completionTokens, 16, 0),
    models,
    loadMs: nonNegative('loadMs', options.loadMs, 0),
    contextSize: integer('contextSize', options.contextSize, 4096, 1),
    modelPath: options.modelPath ?? models[0]!,
    error500Rate: rate('faults.error500Rate', faults.error500Rate),
    error429Rate: rate('faults.error429Rate', faults.error429Rate),
    retryAfterSeconds: integer('faults.retryAfterSeconds', faults.retryAfterSeconds, 1, 0),
    dropRate: rate('faults.dropRate', faults.dropRate),
    hangRate: rate('faults.hangRate', faults.hangRate),
    seed: integer('seed', options.seed, 1, 0),
    script: options.script,
    apiKey: options.apiKey,
    invalidJsonOnceRate: rate('invalidJson.onceRate', options.invalidJson?.onceRate),
    invalidJsonAlwaysRate: rate('invalidJson.alwaysRate', options.invalidJson?.alwaysRate),
    limitConcurrency: options.limitConcurrency === undefined ? undefined : { max: integer('limitConcurrency.max', options.limitConcurrency.max, 1, 1) },
    reproducibleAnswers: options.reproducibleAnswers ?? false,
    recordArrivals: options.recordArrivals ?? false,
  };
  check(resolved.invalidJsonOnceRate + resolved.invalidJsonAlwaysRate <= 1, 'invalidJson', 'rates that add up to at most 1', resolved.invalidJsonOnceRate + resolved.invalidJsonAlwaysRate);
  const total = resolved.error500Rate + resolved.error429Rate + resolved.dropRate + resolved.hangRate;
  check(total <= 1, 'faults', 'rates that add up to at most 1', total);
  check(options.port === undefined || options.port <= 65535, 'port', 'an integer from 0 to 65535', options.port);
  check(typeof resolved.host === 'string' && resolved.host !== '', 'host', 'a non-empty string', resolved.host);
  check(resolved.apiKey === undefined || (typeof resolved.apiKey === 'string' && resolved.apiKey !== ''), 'apiKey', 'a non-empty string', resolved.apiKey);
  return resolved;
}
