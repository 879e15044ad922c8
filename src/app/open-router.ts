import type { Backend, EndpointInfo, ServerType } from '../backends/backend.js';
import type { Router } from '../scheduler/router.js';
import { StaticRouter } from '../scheduler/static-router.js';
import { apiKeyFor } from './api-key.js';
import type { ManagedServerSettings } from './open-model-pool.js';

/** Where prompts go: running servers (`servers`), or else servers `batch` starts itself. */
export interface RouterSettings extends Omit<ManagedServerSettings, 'models'> {
  /** `--server` URLs; none means managed servers. */
  readonly servers?: readonly string[];
  /** `--server-type`: skip flavour detection. */
  readonly serverType?: ServerType;
  /** `--api-key-env`. @default OPENAI_API_KEY for non-local URLs */
  readonly apiKeyEnv?: string;
  /** `--keep-alive`: Ollama's keep_alive. */
  readonly keepAlive: string;
  /** `--stream`. */
  readonly stream: boolean;
  /** `--model` values; none (and no models dir) means the default model. */
  readonly models?: readonly string[];
}

export interface OpenRouterContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Folder for managed servers' logs. */
  readonly logDir: string;
  /** `--workers`, when given: connection pools are sized for it. */
  readonly workersHint?: number;
  readonly notice?: (line: string) => void;
}

/** Opens the router of a run: connection pools to `--server`s, or the managed model pool. */
export async function openRouter(settings: RouterSettings, context: OpenRouterContext): Promise<Router> {
  if (settings.servers !== undefined && settings.servers.length > 0) return openStaticRouter(settings.servers, settings, context);
  return openManagedRouter(settings, context);
}

async function openStaticRouter(urls: readonly string[], settings: RouterSettings, context: OpenRouterContext): Promise<Router> {
  const { openBackend } = await import('../backends/open-backend.js');
  const endpoints: Array<{ backend: Backend; info: EndpointInfo }> = [];
  try {
    for (const url of urls) {
      const backend = await openBackend({
        url,
        type: settings.serverType,
        apiKey: apiKeyFor(url, settings.apiKeyEnv, context.env),
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
  return new StaticRouter(endpoints);
}

/** Starts nothing yet: servers start on first use, in the scheduler's model order. */
async function openManagedRouter(settings: RouterSettings, context: OpenRouterContext): Promise<Router> {
  let models = settings.models ?? [];
  if (models.length === 0 && settings.modelsDir === undefined) {
    const { resolveDefaultModel } = await import('../models/default-model.js');
    const chosen = await resolveDefaultModel({ env: context.env, log: context.notice });
    if (chosen.notice) context.notice?.(chosen.notice);
    models = [chosen.path];
  }
  const [{ openModelPool }, { PoolRouter }] = await Promise.all([import('./open-model-pool.js'), import('./pool-router.js')]);
  const { pool, description } = await openModelPool({ ...settings, models }, context);
  context.notice?.(
    `managed ${description}: ${settings.slots} slot(s) × ${settings.contextSize} tokens of context per model (at most its trained context), at most ${settings.maxModels} model(s) loaded; logs in ${context.logDir}`,
  );
  return new PoolRouter(pool);
}
