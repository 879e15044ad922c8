import { setImmediate as nextLoopTurn } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { UsageError } from '../errors.js';
import { checkWholeNumber } from '../util/check-option.js';
import { mapTransportError, type TransportContext } from './map-backend-error.js';
/*
 * undici's Pool alone: its main entry also loads fetch, WebSocket, cookies and, through them,
 * Node's own copy of undici, about 60 ms of every run's start-up for a class it does not use.
 * Its files by path (typed in undici-files.d.ts) and imported, not required, so that the bundle
 * of `batch run` holds them and its code cache covers them (scripts/build-bundle.mjs).
 * `request` is `Dispatcher#request`, which the main entry mixes into every dispatcher (streamed
 * answers use it).
 */
import Pool from 'undici/lib/dispatcher/pool.js';
import request from 'undici/lib/api/api-request.js';

export interface HttpEndpointOptions {
  /** Base URL (`http(s)://host:port`), without a trailing slash or credentials. */
  readonly url: string;
  /** Keep-alive connections at most, opened lazily: the concurrency cap of this endpoint. @default 16 */
  readonly connections?: number;
  /** Sent as `Authorization: Bearer …`; never logged, returned or put in messages. */
  readonly apiKey?: string;
  /** Time to open a TCP connection before giving up. @default 10000 */
  readonly connectTimeoutMs?: number;
  /**
   * Longest silence of a request once sent: no header and no byte of the body for this long
   * aborts it as STALLED (a hung slot while the server's health check says ok). Undefined: only
   * the request's own deadline applies. An answer that is not streamed sends nothing until it is
   * complete, so this must exceed the longest generation unless answers are streamed.
   */
  readonly stallTimeoutMs?: number;
  /** Headers sent with every request besides the content type and the key (the daemon's `x-batch-run`). */
  readonly headers?: Readonly<Record<string, string>>;
}

type Headers = Record<string, string | string[] | undefined>;

export interface HttpAnswer {
  readonly statusCode: number;
  readonly headers: Headers;
  readonly text: string;
}

export interface HttpStream {
  readonly statusCode: number;
  readonly headers: Headers;
  readonly body: Readable;
  /** Whether the request's deadline has fired (to tell a timeout from another failure). */
  timedOut(): boolean;
  /** Clears the request's deadline; call once the body has been consumed or abandoned. */
  done(): void;
}

export interface SendOptions {
  /** Deadline of the whole exchange, from sending to the last byte. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * One keep-alive connection pool to one server (undici `Pool`, pipelining 1): no new TCP
 * connection per prompt. Every request has a deadline covering the whole exchange, so a server
 * that accepts and never answers cannot hold a worker forever.
 */
export class HttpEndpoint {
  readonly url: string;
  readonly #pool: Pool;
  readonly #stallTimeoutMs: number | undefined;
  readonly #headers: Record<string, string>;
  readonly #watchers = new WeakMap<AbortSignal, Set<() => void>>();

  constructor(options: HttpEndpointOptions) {
    if (options.connections !== undefined) checkWholeNumber('connections', options.connections, 1);
    if (options.connectTimeoutMs !== undefined) checkWholeNumber('connectTimeoutMs', options.connectTimeoutMs, 1);
    if (options.stallTimeoutMs !== undefined) checkWholeNumber('stallTimeoutMs', options.stallTimeoutMs, 1);
    if (options.apiKey !== undefined && (options.apiKey === '' || /[\r\n]/.test(options.apiKey))) {
      // The key itself is never quoted, even when it is wrong.
      throw new UsageError('expected `apiKey` to be a non-empty single-line string: check the variable named by --api-key-env');
    }
    this.url = options.url;
    this.#stallTimeoutMs = options.stallTimeoutMs;
    this.#pool = new Pool(options.url, {
      connections: options.connections ?? 16,
      pipelining: 1,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      // The per-request deadline below bounds each exchange; undici's own timeouts watch for
      // silence only when a stall timeout is asked for (else they would cut long generations short).
      headersTimeout: options.stallTimeoutMs ?? 0,
      bodyTimeout: options.stallTimeoutMs ?? 0,
      keepAliveTimeout: 60_000,
    });
    this.#headers = { ...options.headers, 'content-type': 'application/json', accept: 'application/json' };
    if (options.apiKey !== undefined) this.#headers.authorization = `Bearer ${options.apiKey}`;
  }

  /**
   * Sends and reads the whole answer. Rejects only on transport failure: every HTTP status resolves.
   * The hot path of every non-streamed prompt, so it drives undici's `dispatch` directly: no
   * AbortController, body stream or async iterator per request.
   */
  send(method: 'GET' | 'POST', path: string, body: unknown, options: SendOptions): Promise<HttpAnswer> {
    return new Promise<HttpAnswer>((resolve, reject) => {
      const signal = options.signal;
      let controller: { abort(reason: Error): void } | undefined;
      let reason: Error | undefined;
      let timedOut = false;
      let settled = false;
      const abort = (cause: Error): void => {
        reason ??= cause;
        controller?.abort(reason);
      };
      const timer = setTimeout(() => {
        timedOut = true;
        abort(new Error(`no complete answer within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      const unwatch = signal === undefined ? undefined : this.#watch(signal, () => abort(abortReason(signal)));
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        unwatch?.();
        reject(mapTransportError(error, this.url, this.#transportContext(options, timedOut)));
      };
      if (signal?.aborted === true) abort(abortReason(signal));
      let statusCode = 0;
      let headers: Headers = {};
      const chunks: Buffer[] = [];
      try {
        this.#pool.dispatch(
          { method, path, headers: this.#headers, body: body === undefined ? undefined : JSON.stringify(body) },
          {
            onRequestStart: (started: { abort(reason: Error): void }) => {
              controller = started;
              if (reason !== undefined) started.abort(reason);
            },
            onResponseStart: (_: unknown, status: number, responseHeaders: Headers) => {
              statusCode = status;
              headers = responseHeaders;
            },
            onResponseData: (_: unknown, chunk: Buffer) => {
              chunks.push(chunk);
            },
            onResponseEnd: () => {
              if (settled) return;
              settled = true;
              clearTimeout(timer);
              unwatch?.();
              const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
              // See socketReleased: undici frees the socket one loop turn after the end, then
              // checks it for a close for one more; the next request of this worker reuses it.
              setImmediate(() => setImmediate(() => resolve({ statusCode, headers, text })));
            },
            onResponseError: (_: unknown, error: Error) => fail(error),
          },
        );
      } catch (error) {
        fail(error);
      }
    });
  }

  /**
   * Calls `onAbort` when `signal` aborts. One listener per signal and endpoint, whatever the
   * number of requests in flight: adding and removing one per request costs more than the rest of
   * the bookkeeping. Returns the function that stops watching.
   */
  #watch(signal: AbortSignal, onAbort: () => void): () => void {
    let watchers = this.#watchers.get(signal);
    if (watchers === undefined) {
      const set = new Set<() => void>();
      watchers = set;
      this.#watchers.set(signal, set);
      signal.addEventListener('abort', () => {
        for (const watcher of [...set]) watcher();
      }, { once: true });
    }
    const set = watchers;
    set.add(onAbort);
    return () => set.delete(onAbort);
  }

  /** Sends and hands back the body as a stream (server-sent events); the caller must call `done()`. */
  async open(method: 'GET' | 'POST', path: string, body: unknown, options: SendOptions): Promise<HttpStream> {
    const deadline = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort();
    }, options.timeoutMs);
    const onAbort = (): void => deadline.abort();
    const signal = options.signal;
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    try {
      if (signal?.aborted) deadline.abort();
      const response = await request.call(this.#pool, {
        method,
        path,
        headers: this.#headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: deadline.signal,
      });
      return { statusCode: response.statusCode, headers: response.headers, body: response.body, done, timedOut: () => timedOut };
    } catch (error) {
      done();
      throw mapTransportError(error, this.url, this.#transportContext(options, timedOut));
    }
  }

  /** What a caller that reads `open`'s stream itself passes to `mapTransportError`. */
  transportContext(options: SendOptions, stream: HttpStream): TransportContext {
    return this.#transportContext(options, stream.timedOut());
  }

  #transportContext(options: SendOptions, timedOut: boolean): TransportContext {
    return { timeoutMs: options.timeoutMs, timedOut, aborted: options.signal?.aborted ?? false, stallTimeoutMs: this.#stallTimeoutMs };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** Why a request stopped when its caller's signal aborted (undici reports it as the failure). */
function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Resolves once undici can hand this request's socket to the next request. With pipelining 1
 * it frees a socket a full event-loop turn after the answer ends (guarding against servers that
 * close despite keep-alive); a caller that sends its next request before then makes the pool open
 * a second connection. Waiting that one turn keeps a sequential worker on one socket.
 */
export function socketReleased(): Promise<void> {
  return nextLoopTurn();
}
