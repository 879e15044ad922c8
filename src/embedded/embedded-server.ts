import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { ServerError } from '../errors.js';
import { checkWholeNumber, optionError } from '../util/check-option.js';
import { countPhysicalCores } from '../hardware/physical-cores.js';
import type { GgufInfo } from '../models/gguf-reader.js';
import { inspectModel } from '../servers/inspect-model.js';
import { EmbeddedEngine } from './embedded-engine.js';
import { handleEmbeddedRequest, type EmbeddedRouteState } from './embedded-routes.js';
import { defaults } from '../defaults.js';

/** How to run the embedded llama.cpp server. */
export interface EmbeddedServerOptions {
  /** Path of the GGUF model. It is validated before loading, so a bad file fails with MODEL_INVALID instead of a native abort. */
  readonly modelPath: string;
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** TCP port; 0 picks a free one (read it from `EmbeddedServer.port`). @default 0 */
  readonly port?: number;
  /** Slots: sequences that generate at once; more requests wait FIFO (`--slots`: the settings table holds its default). */
  readonly slots: number;
  /**
   * Context of each slot, in tokens, capped at the model's trained context (the ready event and
   * `/props` report what each slot really has); 0 means the trained context, as llama-server's `-c 0`.
   */
  readonly contextSize: number;
  /**
   * CPU threads. More threads than physical cores makes llama.cpp far slower, so the value is
   * capped there. The default leaves one core to this process's own event loop (HTTP, sampling
   * callbacks): llama.cpp's threads spin-wait on each other, and one of them losing its core to
   * Node costs more than the thread adds (measured here on 2 cores: 1 thread generates 137
   * tokens/s on an 85 MB model, 2 threads 50). @default max(1, countPhysicalCores() - 1)
   */
  readonly threads?: number;
  /** 'auto': CUDA/Vulkan when a prebuilt binary for one works, else CPU; false: CPU only. Nothing is ever built or downloaded. @default 'auto' */
  readonly gpu?: 'auto' | false;
  /**
   * Layers offloaded to the GPU (`--gpu-layers`, llama-server's `-ngl`), as node-llama-cpp's
   * `gpuLayers`; 0 keeps the model on the CPU. Without a GPU nothing is offloaded. @default 'auto'
   */
  readonly gpuLayers?: number;
  /** `max_tokens` of requests that set none. @default 256 */
  readonly maxTokensDefault?: number;
  /**
   * When set, every endpoint but `/health` and `/v1/health` answers 401 unless the request carries
   * `Authorization: Bearer <apiKey>` (llama-server's `--api-key`). `batch` sets a fresh one for every
   * server it starts. @default undefined (anyone who can connect may use the server)
   */
  readonly apiKey?: string;
}

/** What the server runs with, once the model is loaded. */
export interface EmbeddedServerReady {
  readonly modelId: string;
  readonly slots: number;
  readonly contextSize: number;
  readonly threads: number;
  readonly backend: 'cpu' | 'cuda' | 'vulkan' | 'metal';
}

export interface EmbeddedServer {
  /** `http://host:port`, listening already (the model may still be loading). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The model's GGUF header, read before loading. */
  readonly model: GgufInfo;
  /** Resolves when the model is loaded and `/health` answers 200; rejects when loading fails. */
  readonly ready: Promise<EmbeddedServerReady>;
  /** Stops listening, aborts running requests and frees llama.cpp resources. */
  close(): Promise<void>;
}

/**
 * Validates the model, starts an OpenAI-compatible HTTP server (llama-server's endpoints and
 * answer shapes) and loads the model in the background. Resolves once listening; await `ready`
 * for the model. Rejects with ServerError MODEL_INVALID / MODEL_NOT_FOUND before listening.
 */
export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const resolved = resolveOptions(options);
  const model = await inspectModel(resolved.modelPath);
  // inspectModel requires llama.context_length: a slot longer than the model was trained for only degrades it.
  const trained = model.contextLength!;
  const contextSize = resolved.contextSize === 0 ? trained : Math.min(resolved.contextSize, trained);
  const modelId = basename(resolved.modelPath);

  const inFlight = new AbortController();
  const state: EmbeddedRouteState = {
    modelId,
    modelPath: resolved.modelPath,
    model,
    maxTokensDefault: resolved.maxTokensDefault,
    engine: undefined,
    loadError: undefined,
    closing: inFlight.signal,
    apiKey: resolved.apiKey,
  };
  let active = 0;
  let onDrained: (() => void) | undefined;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    active++;
    response.once('close', () => {
      active--;
      if (active === 0) onDrained?.();
    });
    handleEmbeddedRequest(state, request, response);
  });
  server.keepAliveTimeout = 30_000;
  await listen(server, resolved.host, resolved.port);
  const port = (server.address() as AddressInfo).port;

  const loading = EmbeddedEngine.load({
    modelPath: resolved.modelPath,
    slots: resolved.slots,
    contextSize,
    threads: resolved.threads,
    gpu: resolved.gpu,
    ...(resolved.gpuLayers === undefined ? {} : { gpuLayers: resolved.gpuLayers }),
  });
  const ready = loading.then(
    (engine): EmbeddedServerReady => {
      state.engine = engine;
      return { modelId, slots: engine.slotCount, contextSize: engine.contextSize, threads: resolved.threads, backend: engine.backend };
    },
    (error: unknown) => {
      state.loadError = error instanceof Error ? error.message : String(error);
      throw error;
    },
  );
  // The caller may only poll /health; a failed load must not become an unhandled rejection.
  ready.catch(() => undefined);

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      inFlight.abort();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Stopped requests answer 503 and then leave keep-alive sockets behind: drop those once
      // the last answer is out, instead of waiting for clients to hang up.
      if (active > 0) await new Promise<void>((resolve) => (onDrained = resolve));
      server.closeAllConnections();
      await stopped;
      const engine = await loading.catch(() => undefined);
      await engine?.close();
    })();
    return closed;
  };

  const urlHost = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  return { url: `http://${urlHost}:${port}`, host: resolved.host, port, model, ready, close };
}

interface ResolvedOptions {
  readonly modelPath: string;
  readonly host: string;
  readonly port: number;
  readonly slots: number;
  readonly contextSize: number;
  readonly threads: number;
  readonly gpu: 'auto' | false;
  readonly gpuLayers: number | undefined;
  readonly maxTokensDefault: number;
  readonly apiKey: string | undefined;
}

function resolveOptions(options: EmbeddedServerOptions): ResolvedOptions {
  if (typeof options.modelPath !== 'string' || options.modelPath === '') throw optionError('modelPath', 'the path of a .gguf file', options.modelPath);
  const host = options.host ?? defaults.host;
  if (typeof host !== 'string' || host === '') throw optionError('host', 'a host name or address', host);
  const cores = countPhysicalCores();
  const gpu = options.gpu ?? 'auto';
  if (gpu !== 'auto' && gpu !== false) throw optionError('gpu', '"auto" or false', gpu);
  return {
    modelPath: options.modelPath,
    host,
    port: checkWholeNumber('port', options.port ?? 0, 0, 65535),
    slots: checkWholeNumber('slots', options.slots, 1),
    contextSize: checkWholeNumber('contextSize', options.contextSize, 0),
    threads: Math.min(checkWholeNumber('threads', options.threads ?? Math.max(1, cores - 1), 1), cores),
    gpu,
    gpuLayers: options.gpuLayers === undefined ? undefined : checkWholeNumber('gpuLayers', options.gpuLayers, 0),
    maxTokensDefault: checkWholeNumber('maxTokensDefault', options.maxTokensDefault ?? 256, 1),
    apiKey: options.apiKey === undefined ? undefined : checkApiKey(options.apiKey),
  };
}

function checkApiKey(key: unknown): string {
  if (typeof key !== 'string' || key === '' || /\s/.test(key)) throw optionError('apiKey', 'a non-empty string without spaces', key === undefined ? key : '(hidden)');
  return key;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(new ServerError('SERVER_NOT_READY', `embedded server cannot listen on ${host}:${port}: ${error.message}; choose another --port or --host`, error));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
