import { UsageError } from '../errors.js';
import type { Backend, EndpointInfo, ServerType } from '../backends/backend.js';
import type { Router } from './router.js';
import { StaticRouter } from './static-router.js';

/** Where prompts go: running servers (`--server`), or servers `batch` manages itself. */
export interface RouterSettings {
  /** URLs of running servers; empty means managed servers. */
  readonly servers?: readonly string[];
  /** Skip flavour detection. */
  readonly serverType?: ServerType;
  /** Name of the environment variable holding the API key. @default OPENAI_API_KEY for non-local URLs */
  readonly apiKeyEnv?: string;
  /** Ollama keep_alive. @default '30m' */
  readonly keepAlive?: string;
  /** Stream answers to measure time to first token. @default false */
  readonly stream?: boolean;
  /** GGUF models for managed servers (`path` or `alias=path`); the first is the default. */
  readonly models?: readonly string[];
  readonly modelsDir?: string;
  /** llama-server binary. @default llama-server on PATH, else the embedded server */
  readonly llamaServer?: string;
  /** Extra llama-server arguments, one string split on spaces. */
  readonly llamaServerArgs?: string;
  /** Models resident at once. @default saved advice, else 2 */
  readonly maxModels?: number;
  /** Parallel sequences per managed server. @default saved advice, else 4 */
  readonly slots?: number;
  /** Context per slot. @default saved advice, else 2048 */
  readonly contextSize?: number;
  readonly threads?: number;
  readonly gpuLayers?: number;
  readonly memoryBudgetBytes?: number;
  /** @default 600000 */
  readonly startupTimeoutMs?: number;
}

export interface OpenRouterContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Folder for managed servers' logs. */
  readonly logDir: string;
  /** `--workers`, when given: connection pools are sized for it. */
  readonly workersHint?: number;
  /** Models that pending prompts name (null: the default), to fail fast on unknown ones. */
  readonly pendingModels: ReadonlyArray<string | null>;
  readonly notice?: (line: string) => void;
  /** Saved `batch optimize` advice, used as defaults. */
  readonly advice?: { readonly workers?: number; readonly maxModels?: number; readonly slots?: number; readonly contextSize?: number; readonly threads?: number };
}

export interface OpenedRouter {
  readonly router: Router;
  /** Workers when `--workers` is not given: the endpoints' slots, else saved advice, else 4. */
  readonly defaultWorkers: number;
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
}

/** The API key for `url`, read from the environment; never stored or printed. */
export function apiKeyFor(url: string, settings: RouterSettings, env: OpenRouterContext['env']): string | undefined {
  if (settings.apiKeyEnv !== undefined) {
    const key = env[settings.apiKeyEnv];
    if (key === undefined || key === '') {
      throw new UsageError(`--api-key-env ${settings.apiKeyEnv}: the environment variable ${settings.apiKeyEnv} is not set; export it or drop --api-key-env`);
    }
    return key;
  }
  return isLoopback(url) ? undefined : env.OPENAI_API_KEY || undefined;
}

/** Opens the router for a run: connection pools to `--server`s, or the managed model pool. */
export async function openRouter(settings: RouterSettings, context: OpenRouterContext): Promise<OpenedRouter> {
  if (settings.servers && settings.servers.length > 0) return openStaticRouter(settings, context);
  const { openManagedRouter } = await import('./managed-router.js');
  return openManagedRouter(settings, context);
}

async function openStaticRouter(settings: RouterSettings, context: OpenRouterContext): Promise<OpenedRouter> {
  const { openBackend } = await import('../backends/open-backend.js');
  const endpoints: Array<{ backend: Backend; info: EndpointInfo }> = [];
  try {
    for (const url of settings.servers!) {
      const backend = await openBackend({
        url,
        type: settings.serverType,
        apiKey: apiKeyFor(url, settings, context.env),
        // Sockets open lazily, so a generous cap costs nothing; the scheduler bounds concurrency.
        connections: context.workersHint ?? 64,
        keepAlive: settings.keepAlive,
        stream: settings.stream,
      });
      endpoints.push({ backend, info: await backend.describe() });
    }
  } catch (error) {
    await Promise.all(endpoints.map((e) => e.backend.close()));
    throw error;
  }
  const router = new StaticRouter(endpoints);
  return { router, defaultWorkers: router.capacity ?? context.advice?.workers ?? 4 };
}
