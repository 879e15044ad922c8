import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../errors.js';
import type { ModelPool } from '../servers/model-pool.js';
import { AttachedRuns, clientOf } from './attached-runs.js';
import type { DaemonCatalog } from './daemon-catalog.js';
import type { DaemonListener } from './daemon-listener.js';
import { processRssBytes, type DaemonStatus } from './daemon-status.js';
import { FairGate } from './fair-gate.js';
import { forwardRequest } from './forward-request.js';
import { readJsonBody, sendError } from './http-answers.js';
import { sendJson } from '../util/http-json.js';

/** What the daemon's endpoint uses of the model pool. */
export type DaemonPool = Pick<ModelPool, 'acquire' | 'load' | 'modelState' | 'residents' | 'stats' | 'recheck' | 'unloadIdle' | 'close'>;

export interface DaemonServerOptions {
  readonly pool: DaemonPool;
  readonly catalog: DaemonCatalog;
  /** The bearer key every request but `GET /health` must carry. */
  readonly key: string;
  /** Slots of each model server: requests forwarded to one at once. */
  readonly slots: number;
  readonly contextSize: number;
  readonly maxModels: number;
  /** The engine, in words, for `batch ps`. */
  readonly engine: string;
  /** `--idle`, in ms: for `batch ps`'s "unloads in". */
  readonly idleMs: number;
  readonly exitWhenIdle: boolean;
  readonly runs: AttachedRuns;
  readonly listener?: DaemonListener;
  /** The GPU memory of a process, by pid, where it is known (nvidia-smi, read now and then). @default none known */
  readonly vramOf?: (pid: number) => number | undefined;
  /** One line for the daemon's log. */
  readonly log: (line: string) => void;
  /** `POST /batch/v1/shutdown`: the daemon stops, letting requests finish for `graceMs`. */
  readonly onShutdown: (graceMs: number) => void;
  /** Clock (epoch ms). @default Date.now */
  readonly now?: () => number;
}

/** The OpenAI paths forwarded to a model's server. */
const forwardedPaths = new Set(['/v1/chat/completions', '/v1/completions', '/chat/completions', '/completions']);

/**
 * The daemon's one endpoint on 127.0.0.1: OpenAI's chat and completions routed by `model` to the
 * pool's servers (loaded on demand: 503 "Loading model" meanwhile, as llama-server answers),
 * `/v1/models`, `/health`, and batch's own `/batch/v1/{load,status,shutdown}`. Every request but
 * `/health` needs the key (401 without). Each model's slots are shared fairly between clients.
 */
export class DaemonServer {
  readonly #options: DaemonServerOptions;
  readonly #server: http.Server;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  readonly #gates = new Map<string, FairGate>();
  readonly #key: Buffer;
  readonly #now: () => number;
  readonly #startedAt: number;
  #url = '';

  constructor(options: DaemonServerOptions) {
    this.#options = options;
    this.#key = Buffer.from(`Bearer ${options.key}`);
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
    this.#server = http.createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        options.log(`request ${request.method} ${request.url} failed: ${(error as Error).message}`);
        if (!response.headersSent) sendError(response, 500, 'server_error', `the daemon failed: ${(error as Error).message}`);
        else response.destroy();
      });
    });
    this.#server.keepAliveTimeout = 65_000;
  }

  /** Where it listens, once listening. */
  get url(): string {
    return this.#url;
  }

  /** Listens on 127.0.0.1:`port` (0: a free port). Rejects with the listen error (EADDRINUSE). */
  async listen(port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.#url;
  }

  /** Requests being forwarded now, over all models. */
  get inFlight(): number {
    let total = 0;
    for (const gate of this.#gates.values()) total += gate.busy + gate.waiting;
    return total;
  }

  /**
   * Stops taking connections and waits up to `graceMs` for requests in flight to end; then
   * closes every connection. The pool is the caller's to close.
   */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const deadline = this.#now() + graceMs;
    while (this.inFlight > 0 && this.#now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    this.#server.closeAllConnections();
    this.#agent.destroy();
    await closed;
  }

  /** What `batch ps` shows. */
  status(): DaemonStatus {
    const now = this.#now();
    const stats = new Map(this.#options.pool.stats().map((s) => [s.model, s]));
    const models = this.#options.pool.residents().map((resident) => {
      const gate = this.#gates.get(resident.model);
      const held = this.#options.runs.holds(resident.model);
      const idleMs = resident.inUse > 0 ? 0 : Math.max(0, now - resident.lastUsedAt);
      const busy = gate?.busy ?? resident.inUse;
      return {
        model: resident.model,
        path: resident.path,
        state: resident.state,
        pid: resident.pid,
        slotsBusy: busy,
        slots: this.#options.slots,
        waiting: gate?.waiting ?? 0,
        requestsServed: stats.get(resident.model)?.requestsServed ?? 0,
        loads: stats.get(resident.model)?.loads ?? 0,
        restarts: stats.get(resident.model)?.restarts ?? 0,
        idleMs,
        unloadInMs: held || busy > 0 || resident.state !== 'ready' ? undefined : Math.max(0, this.#options.idleMs - idleMs),
        held,
        rssBytes: processRssBytes(resident.pid),
        vramBytes: resident.pid === undefined ? undefined : this.#options.vramOf?.(resident.pid),
        estimatedBytes: resident.memoryBytes,
        logPath: resident.logPath,
      };
    });
    const o = this.#options;
    return {
      pid: process.pid, url: this.#url, startedAt: this.#startedAt, engine: o.engine, slots: o.slots, contextSize: o.contextSize, maxModels: o.maxModels, idleMs: o.idleMs, exitWhenIdle: o.exitWhenIdle,
      models, runs: o.runs.list(), history: [...stats.values()], available: o.catalog.list().map((m) => ({ model: m.id, path: m.path })),
    };
  }

  async #handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0]!;
    if (request.method === 'GET' && path === '/health') return sendJson(response, 200, { status: 'ok' });
    if (!this.#authorized(request)) {
      this.#options.listener?.onRefused?.(401);
      return sendError(response, 401, 'authentication_error', 'the batch daemon needs its key: send Authorization: Bearer <key>, the "key" of daemon/daemon.json in the batch home (batch run finds it itself)');
    }
    if (request.method === 'GET' && (path === '/v1/models' || path === '/models')) return this.#models(response);
    if (request.method === 'GET' && path === '/batch/v1/status') return sendJson(response, 200, this.status());
    if (request.method === 'POST' && forwardedPaths.has(path)) return this.#forward(request, response, path.startsWith('/v1/') ? path : `/v1${path}`);
    if (request.method === 'POST' && path === '/batch/v1/load') return this.#load(request, response);
    if (request.method === 'POST' && path === '/batch/v1/shutdown') {
      const body = await readJsonBody(request, response);
      if (body === undefined) return;
      const graceMs = typeof body.graceMs === 'number' && Number.isFinite(body.graceMs) && body.graceMs >= 0 ? body.graceMs : 30_000;
      sendJson(response, 202, { stopping: true, graceMs });
      this.#options.onShutdown(graceMs);
      return;
    }
    this.#options.listener?.onRefused?.(404);
    sendError(response, 404, 'invalid_request_error', `the batch daemon has no ${request.method} ${path}; it serves POST /v1/chat/completions, POST /v1/completions, GET /v1/models and GET /health`);
  }

  #authorized(request: http.IncomingMessage): boolean {
    const given = Buffer.from(request.headers.authorization ?? '');
    return given.length === this.#key.length && timingSafeEqual(given, this.#key);
  }

  #models(response: http.ServerResponse): void {
    const ready = new Set(this.#options.pool.residents().filter((r) => r.state === 'ready').map((r) => r.model));
    const data = this.#options.catalog.list().map((model) => ({ id: model.id, object: 'model', owned_by: 'batch', loaded: ready.has(model.id) }));
    sendJson(response, 200, { object: 'list', data, slots: this.#options.slots, context_size: this.#options.contextSize });
  }

  /** `POST /batch/v1/load {path, alias} | {model}`: the model's server runs when this answers. */
  async #load(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const body = await readJsonBody(request, response);
    if (body === undefined) return;
    try {
      const name = typeof body.path === 'string' ? this.#options.catalog.add(body.path, typeof body.alias === 'string' ? body.alias : undefined).id : typeof body.model === 'string' ? body.model : undefined;
      // A load another request started (a 503 "Loading model" did) is one this caller waits for too.
      const ready = this.#options.pool.modelState(name).state === 'ready';
      const asked = performance.now();
      const loaded = await this.#options.pool.load(name);
      if (loaded.started) this.#options.log(`model ${loaded.model} loaded in ${(loaded.loadMs / 1000).toFixed(1)} s`);
      const waited = !ready;
      sendJson(response, 200, { model: loaded.model, started: waited, loadMs: loaded.started ? loaded.loadMs : waited ? Math.round(performance.now() - asked) : 0, slots: this.#options.slots, contextSize: this.#options.contextSize });
    } catch (error) {
      this.#sendAppError(response, error);
    }
  }

  async #forward(request: http.IncomingMessage, response: http.ServerResponse, path: string): Promise<void> {
    const body = await readJsonBody(request, response, { raw: true });
    if (body === undefined) return;
    const name = typeof body.json.model === 'string' && body.json.model !== '' ? body.json.model : undefined;
    let state: ReturnType<DaemonPool['modelState']>;
    try {
      state = this.#options.pool.modelState(name);
    } catch (error) {
      return this.#sendAppError(response, error);
    }
    if (state.state === 'failed') return this.#sendAppError(response, state.error);
    if (state.state !== 'ready') {
      this.#loadInBackground(name);
      this.#options.listener?.onRefused?.(503);
      response.setHeader('retry-after', '1');
      return sendError(response, 503, 'unavailable_error', 'Loading model');
    }
    const client = clientOf(request.headers);
    const run = this.#options.runs.arrive(client, state.model);
    const gate = this.#gateOf(state.model);
    const gone = new AbortController();
    const onClose = (): void => {
      if (!response.writableFinished) gone.abort(new Error('the client went away'));
    };
    response.on('close', onClose);
    let leave: (() => void) | undefined;
    let lease: Awaited<ReturnType<DaemonPool['acquire']>> | undefined;
    try {
      leave = await gate.enter(client.id, gone.signal);
      run.admitted();
      lease = await this.#options.pool.acquire(name);
      // Gone while the model (re)loaded: nothing to send, its slot goes to the next.
      if (gone.signal.aborted) return;
      const started = performance.now();
      const outcome = await forwardRequest(this.#agent, lease.server, path, body.raw, request, response);
      this.#options.listener?.onRequest?.(state.model, String(outcome.status), performance.now() - started);
    } catch (error) {
      if (!gone.signal.aborted) this.#sendAppError(response, error);
    } finally {
      response.off('close', onClose);
      lease?.release();
      leave?.();
      run.ended();
      this.#options.pool.recheck();
    }
  }

  #loadInBackground(name: string | undefined): void {
    this.#options.pool.load(name).then(
      (loaded) => {
        if (loaded.started) this.#options.log(`model ${loaded.model} loaded in ${(loaded.loadMs / 1000).toFixed(1)} s (asked for by a request)`);
      },
      (error: unknown) => this.#options.log(`model ${name ?? '(default)'} could not be loaded: ${(error as Error).message}`),
    );
  }

  #gateOf(model: string): FairGate {
    let gate = this.#gates.get(model);
    if (gate === undefined) {
      gate = new FairGate(this.#options.slots);
      this.#gates.set(model, gate);
    }
    return gate;
  }

  #sendAppError(response: http.ServerResponse, error: unknown): void {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    const code = error instanceof AppError ? error.code : 'INTERNAL';
    const status = code === 'MODEL_NOT_FOUND' || code === 'MODEL_FILE_NOT_FOUND' ? 404 : code === 'INTERRUPTED' ? 503 : 500;
    this.#options.listener?.onRefused?.(status);
    sendError(response, status, status === 404 ? 'invalid_request_error' : 'server_error', (error as Error).message, code === 'MODEL_NOT_FOUND' ? 'model_not_found' : code);
  }
}
