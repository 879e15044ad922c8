import { UsageError } from '../errors.js';
import type { Backend, ServerType } from './backend.js';
import { detectServerType } from './detect-server-type.js';
import { LlamaServerBackend } from './llama-server-backend.js';
import { OllamaBackend } from './ollama-backend.js';
import { OpenAiBackend } from './openai-backend.js';

export interface OpenBackendOptions {
  /** Server base URL: `http(s)://host:port`, optionally ending in `/v1` (stripped). */
  readonly url: string;
  /** The server's flavour; given, no probing happens. @default detected by probing */
  readonly type?: ServerType;
  /** Bearer token, read from the environment by the caller; never stored, logged or returned. */
  readonly apiKey?: string;
  /** Keep-alive connections at most: the concurrency cap of this endpoint. @default 16 */
  readonly connections?: number;
  /** Ollama `keep_alive`, sent with every request. @default '30m' */
  readonly keepAlive?: string;
  /** Stream answers to measure time to first token (every flavour: SSE, Ollama's NDJSON). @default false */
  readonly stream?: boolean;
  /** Time to open a TCP connection. @default 10000 (5000 while detecting) */
  readonly connectTimeoutMs?: number;
  /** Longest silence of a sent request before it fails as STALLED (`--stall-timeout`). @default none */
  readonly stallTimeoutMs?: number;
  /** Headers sent with every request besides the content type and the key. @default none */
  readonly headers?: Readonly<Record<string, string>>;
}

const serverTypes: readonly ServerType[] = ['openai', 'llama-server', 'ollama'];

/** What a --server URL must look like, for every message that refuses one. */
const urlShape = 'expected a URL such as http://127.0.0.1:8080 (http:// or https://, a host, an optional port from 1 to 65535)';

/** `host:port` typed without a scheme: `new URL` fails on it, or takes the host for a scheme. */
const missingScheme = /^(\[[0-9a-f:.]+\]|[a-z0-9][a-z0-9.-]*):\d+\/?$/i;

/** Validates and normalises a --server URL to `protocol//host:port`; credentials in it are refused (they would be stored and logged). */
export function normaliseServerUrl(raw: string): string {
  if (missingScheme.test(raw.trim())) {
    throw new UsageError(`--server: add the scheme: http://${raw.trim()} (got ${JSON.stringify(raw)}; ${urlShape})`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--server: ${urlShape}, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--server: ${urlShape}, got scheme ${JSON.stringify(url.protocol)} in ${JSON.stringify(raw)}`);
  }
  if (url.username !== '' || url.password !== '') {
    // The URL is quoted nowhere here: it holds the secret.
    throw new UsageError('--server: the URL contains credentials; remove them and put the key in an environment variable named by --api-key-env');
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (path !== '' && path !== '/v1') {
    throw new UsageError(`--server: expected the server's base URL (optionally ending in /v1), got path ${JSON.stringify(url.pathname)} in ${JSON.stringify(raw)}`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new UsageError(`--server: expected a base URL without query or fragment, got ${JSON.stringify(raw)}`);
  }
  return `${url.protocol}//${url.host}`;
}

/** A backend of a known flavour, without probing. */
export function createBackend(type: ServerType, options: Omit<OpenBackendOptions, 'type'>): Backend {
  const url = normaliseServerUrl(options.url);
  const common = { url, apiKey: options.apiKey, connections: options.connections, connectTimeoutMs: options.connectTimeoutMs, stallTimeoutMs: options.stallTimeoutMs, headers: options.headers };
  switch (type) {
    case 'ollama':
      return new OllamaBackend({ ...common, keepAlive: options.keepAlive, stream: options.stream });
    case 'llama-server':
      return new LlamaServerBackend({ ...common, stream: options.stream });
    case 'openai':
      return new OpenAiBackend({ ...common, stream: options.stream });
    default:
      throw new UsageError(`expected \`type\` to be one of ${serverTypes.join(', ')}, got ${JSON.stringify(type)}`);
  }
}

/** Opens a backend for a --server URL, detecting its flavour unless `type` is given. */
export async function openBackend(options: OpenBackendOptions): Promise<Backend> {
  const url = normaliseServerUrl(options.url);
  const type = options.type ?? (await detectServerType(url, { apiKey: options.apiKey, connectTimeoutMs: options.connectTimeoutMs }));
  return createBackend(type, { ...options, url });
}
