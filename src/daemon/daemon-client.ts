import { AppError, BackendError, errorCodes, type ErrorCode } from '../errors.js';
import { requestLocal, type LocalHttpResponse } from '../servers/request-local.js';
import type { DaemonStatus } from './daemon-status.js';

/** Where a daemon listens and the key it admits (a `DaemonRecord` fits). */
export interface DaemonAddress {
  readonly url: string;
  readonly key: string;
}

/** What `POST /batch/v1/load` answers. */
export interface DaemonLoad {
  /** The id the daemon serves the model under. */
  readonly model: string;
  /** Whether the model was not ready when asked: a load the run waited for (started by this request or another). */
  readonly started: boolean;
  readonly loadMs: number;
  readonly slots: number;
  readonly contextSize: number;
}

/**
 * batch's own requests to its daemon: status (`batch ps`), load (a run, before its first request
 * of a model), shutdown (`batch down`). A daemon that does not answer is SERVER_UNREACHABLE
 * (retryable); an error it answers keeps its stable code (MODEL_INVALID, MODEL_NOT_FOUND, …).
 */
export class DaemonClient {
  readonly #address: DaemonAddress;

  constructor(address: DaemonAddress) {
    this.#address = address;
  }

  get url(): string {
    return this.#address.url;
  }

  status(timeoutMs = 10_000): Promise<DaemonStatus> {
    return this.#call<DaemonStatus>('GET', '/batch/v1/status', undefined, timeoutMs);
  }

  /** Makes sure the GGUF file at `path` (absolute) is loaded, under `alias` when the daemon does not know it yet. */
  load(path: string, alias: string | undefined): Promise<DaemonLoad> {
    return this.#call<DaemonLoad>('POST', '/batch/v1/load', { path, alias }, undefined);
  }

  /** Asks the daemon to stop, letting requests in flight finish for `graceMs`. */
  shutdown(graceMs: number): Promise<unknown> {
    return this.#call('POST', '/batch/v1/shutdown', { graceMs }, 10_000);
  }

  async #call<T>(method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number | undefined): Promise<T> {
    let response: LocalHttpResponse;
    try {
      // node:http, not fetch: fetch loads Node's own undici (~60 ms) on a run's way to its first request.
      response = await requestLocal(`${this.#address.url}${path}`, { method, json: body, timeoutMs: timeoutMs ?? maxTimerMs, headers: { authorization: `Bearer ${this.#address.key}` } });
    } catch (error) {
      throw new BackendError('SERVER_UNREACHABLE', this.#address.url, `the batch daemon at ${this.#address.url} does not answer (${(error as Error).message}); \`batch up\` starts it again`, { retryable: true, cause: error });
    }
    let json: unknown;
    try {
      json = JSON.parse(response.body);
    } catch {
      json = undefined;
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return json as T;
    const error = (json as { error?: { message?: unknown; code?: unknown } } | undefined)?.error;
    const message = typeof error?.message === 'string' ? error.message : `${response.statusCode} ${response.body.slice(0, 200)}`;
    const code = typeof error?.code === 'string' && error.code in errorCodes ? (error.code as ErrorCode) : error?.code === 'model_not_found' ? 'MODEL_NOT_FOUND' : undefined;
    if (response.statusCode === 401) throw new BackendError('AUTH_FAILED', this.#address.url, `the batch daemon at ${this.#address.url} refused the key of its daemon.json: is it another daemon's address?`, { statusCode: 401 });
    if (code !== undefined) throw new AppError(code, message);
    throw new BackendError('SERVER_ERROR', this.#address.url, `the batch daemon answered ${response.statusCode}: ${message}`, { statusCode: response.statusCode, retryable: response.statusCode >= 500 });
  }
}

/** A load waits as long as the model takes (and for room among the loaded models): bounded by Node's longest timer only. */
const maxTimerMs = 2 ** 31 - 1;
