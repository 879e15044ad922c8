import type { Router } from '../../scheduler/router.js';
import type { FleetContext, FleetSettings } from './open-fleet.js';
import type { ManagedServerSettings } from './open-model-pool.js';
import { unknownTarget, type FleetTarget, type ManagedTarget, type RunTarget } from './run-target.js';

/**
 * How a run reaches its servers, whichever its target: the backend settings (`--stream`,
 * `--stall-timeout`, `--keep-alive`) and, for managed servers, how they are started.
 */
export interface RouterSettings extends Omit<ManagedServerSettings, 'models' | 'modelsDir'>, Omit<FleetSettings, 'servers' | 'serversFile' | 'serverType'> {}

export interface OpenRouterContext extends FleetContext {
  readonly cwd: string;
  /** Folder for managed servers' logs. */
  readonly logDir: string;
}

/** Opens the router of a run's target: connection pools to a fleet, or the managed model pool. */
export async function openRouter(target: RunTarget, settings: RouterSettings, context: OpenRouterContext): Promise<Router> {
  switch (target.kind) {
    case 'fleet':
      return openFleetRouter(target, settings, context);
    case 'managed':
      return openManagedRouter(target, settings, context);
    default:
      return unknownTarget(target);
  }
}

async function openFleetRouter(target: FleetTarget, settings: RouterSettings, context: OpenRouterContext): Promise<Router> {
  const { openFleet } = await import('./open-fleet.js');
  return openFleet({ ...settings, servers: target.servers, serversFile: target.serversFile, serverType: target.serverType }, context);
}

/** Starts nothing yet: servers start on first use, in the scheduler's model order. */
async function openManagedRouter(target: ManagedTarget, settings: RouterSettings, context: OpenRouterContext): Promise<Router> {
  let models = target.models;
  if (models.length === 0 && target.modelsDir === undefined) {
    const { resolveDefaultModel } = await import('../../models/default-model.js');
    const chosen = await resolveDefaultModel({ env: context.env, log: context.notice });
    if (chosen.notice) context.notice?.(chosen.notice);
    models = [chosen.path];
  }
  const [{ openModelPool }, { PoolRouter }] = await Promise.all([import('./open-model-pool.js'), import('./pool-router.js')]);
  const { pool, description } = await openModelPool({ ...settings, models, modelsDir: target.modelsDir }, context);
  context.notice?.(
    `managed ${description}: ${settings.slots} slot(s) × ${settings.contextSize} tokens of context per model (at most its trained context), at most ${settings.maxModels} model(s) loaded; logs in ${context.logDir}`,
  );
  return new PoolRouter(pool);
}
