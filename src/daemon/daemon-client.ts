import { AppError, BackendError, errorCodes, type ErrorCode } from '../errors.js';
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
  load(path: string, alias: string | undefined, signal?: AbortSignal): Promise<DaemonLoad> {
    return this.#call<DaemonLoad>('POST', '/batch/v1/load', { path, alias }, undefined, signal);
  }

  /** Asks the daemon to stop, letting requests in flight finish for `graceMs`. */
  shutdown(graceMs: number): Promise<unknown> {
    return this.#call('POST', '/batch/v1/shutdown', { graceMs }, 10_000);
  }

  async #call<T>(method: string, path: string, body: unknown, timeoutMs: number | undefined, signal?: AbortSignal): Promise<T> {
    const url = `${this.#address.url}${path}`;
    const signals = [signal, timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs)].filter((s) => s !== undefined);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.#address.key}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signals.length === 0 ? undefined : AbortSignal.any(signals),
      });
    } catch (error) {
      if (signal?.aborted === true) throw signal.reason;
      throw new BackendError('SERVER_UNREACHABLE', this.#address.url, `the batch daemon at ${this.#address.url} does not answer (${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}); \`batch up\` starts it again`, { retryable: true, cause: error });
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (response.ok) return json as T;
    const error = (json as { error?: { message?: unknown; code?: unknown } } | undefined)?.error;
    const message = typeof error?.message === 'string' ? error.message : `${response.status} ${text.slice(0, 200)}`;
    const code = typeof error?.code === 'string' && error.code in errorCodes ? (error.code as ErrorCode) : error?.code === 'model_not_found' ? 'MODEL_NOT_FOUND' : undefined;
    if (response.status === 401) throw new BackendError('AUTH_FAILED', this.#address.url, `the batch daemon at ${this.#address.url} refused the key of its daemon.json: is it another daemon's address?`, { statusCode: 401 });
    if (code !== undefined) throw new AppError(code, message);
    throw new BackendError('SERVER_ERROR', this.#address.url, `the batch daemon answered ${response.status}: ${message}`, { statusCode: response.status, retryable: response.status >= 500 });
  }
}
