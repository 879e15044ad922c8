import type { Router } from '../../scheduler/router.js';
import type { FleetContext, FleetSettings } from './open-fleet.js';
import type { ManagedServerSettings } from './open-model-pool.js';

/** Where prompts go: running servers (`servers`, `serversFile`), or else servers `batch` starts itself. */
export interface RouterSettings extends Omit<ManagedServerSettings, 'models'>, FleetSettings {
  /** `--model` values; none (and no models dir) means the default model. */
  readonly models?: readonly string[];
}

export interface OpenRouterContext extends FleetContext {
  readonly cwd: string;
  /** Folder for managed servers' logs. */
  readonly logDir: string;
}

/** Opens the router of a run: connection pools to `--server`s, or the managed model pool. */
export async function openRouter(settings: RouterSettings, context: OpenRouterContext): Promise<Router> {
  if ((settings.servers !== undefined && settings.servers.length > 0) || settings.serversFile !== undefined) return openStaticRouter(settings, context);
  return openManagedRouter(settings, context);
}

async function openStaticRouter(settings: RouterSettings, context: OpenRouterContext): Promise<Router> {
  const { openFleet } = await import('./open-fleet.js');
  return openFleet(settings, context);
}

/** Starts nothing yet: servers start on first use, in the scheduler's model order. */
async function openManagedRouter(settings: RouterSettings, context: OpenRouterContext): Promise<Router> {
  let models = settings.models ?? [];
  if (models.length === 0 && settings.modelsDir === undefined) {
    const { resolveDefaultModel } = await import('../../models/default-model.js');
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
