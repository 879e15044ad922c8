import type { Router } from '../../scheduler/router.js';
import type { FleetContext, FleetSettings } from './open-fleet.js';
import type { ManagedServerSettings } from './open-model-pool.js';
import { ModelCatalog } from '../../servers/model-catalog.js';
import { checkFallbackModels, checkFallbacks, parseFallbackFlags, type Fallback } from './fallback-map.js';
import type { FallbackRouterOptions } from './fallback-router.js';
import { fallbacksOfServers, parseServersFile } from './parse-servers-file.js';
import { unknownTarget, type DaemonTarget, type FleetTarget, type ManagedTarget, type RunTarget } from './run-target.js';

/**
 * How a run reaches its servers, whichever its target: the backend settings (`--stream`,
 * `--stall-timeout`, `--keep-alive`) and, for managed servers, how they are started.
 */
export interface RouterSettings extends Omit<ManagedServerSettings, 'models' | 'modelsDir'>, Omit<FleetSettings, 'servers' | 'serversFile' | 'serverType'> {
  /** `--fallback MODEL=OTHER` values: a model's prompts go to another when it cannot be served. */
  readonly fallbacks?: readonly string[];
  /** `--fallback-after`, in milliseconds. @default 300000 */
  readonly fallbackAfterMs?: number;
}

export interface OpenRouterContext extends FleetContext {
  readonly cwd: string;
  /** Folder for managed servers' logs. */
  readonly logDir: string;
  /** The run's job: the daemon shows it in `batch ps`. */
  readonly job?: string;
  /** Told which engine managed servers run on, and whether `--engine` chose it (else `auto` did). */
  readonly onEngine?: (engine: 'embedded' | 'llama-server', chosen: boolean) => void;
}

/** Opens the router of a run's target: connection pools to a fleet, or the managed model pool. */
export async function openRouter(target: RunTarget, settings: RouterSettings, context: OpenRouterContext): Promise<Router> {
  switch (target.kind) {
    case 'fleet':
      return openFleetRouter(target, settings, context);
    case 'managed':
      return openManagedRouter(target, settings, context);
    case 'daemon':
      return openDaemonTarget(target, settings, context);
    default:
      return unknownTarget(target);
  }
}

/**
 * Checks a run's fallbacks (`--fallback`, the servers file's `fallback`) before the job is touched:
 * the syntax, a model that falls back to itself, cycles and chains, and models the run cannot serve.
 */
export function checkRunFallbacks(target: RunTarget, flags: readonly string[], cwd: string): void {
  if (target.kind === 'fleet') {
    if (flags.length > 0 || target.serversFile !== undefined) fleetFallbacks(target, flags);
  } else if (flags.length > 0) {
    managedFallbacks(new ModelCatalog({ models: target.models, modelsDir: target.modelsDir, cwd }), target, flags);
  }
}

async function openFleetRouter(target: FleetTarget, settings: RouterSettings, context: OpenRouterContext): Promise<Router> {
  const { openFleet } = await import('./open-fleet.js');
  // Checked before any server is asked anything.
  const fallbacks = fleetFallbacks(target, settings.fallbacks ?? []);
  const router = await openFleet({ ...settings, servers: target.servers, serversFile: target.serversFile, serverType: target.serverType }, context);
  if (fallbacks.size === 0) return router;
  // The servers that answered at start have said what they serve: checked before any prompt is sent.
  const served = router.knownModels();
  if (served !== undefined) {
    try {
      checkFallbackModels(fallbacks.values(), (name) => served.has(name), `is served by any server (they serve ${[...served].join(', ')})`);
    } catch (error) {
      await router.close();
      throw error;
    }
  }
  const { FallbackRouter } = await import('./fallback-router.js');
  return new FallbackRouter(router, { fallbackOf: (model) => (model === undefined ? undefined : fallbacks.get(model)), fallbackAfterMs: settings.fallbackAfterMs, notice: context.notice });
}

/** The run's `--model` values, else the default model when neither `--model` nor `--models-dir` is given. */
async function modelsOf(target: ManagedTarget | DaemonTarget, context: OpenRouterContext): Promise<readonly string[]> {
  if (target.models.length > 0 || target.modelsDir !== undefined) return target.models;
  const { resolveDefaultModel } = await import('../../models/default-model.js');
  const chosen = await resolveDefaultModel({ env: context.env, log: context.notice });
  if (chosen.notice) context.notice?.(chosen.notice);
  return [chosen.path];
}

/** Routes through the daemon of the batch home; the run's models and fallbacks as for managed servers. */
async function openDaemonTarget(target: DaemonTarget, settings: RouterSettings, context: OpenRouterContext): Promise<Router> {
  const models = await modelsOf(target, context);
  const { openDaemonRouter } = await import('./open-daemon-router.js');
  const catalog = new ModelCatalog({ models, modelsDir: target.modelsDir, cwd: context.cwd });
  const flags = settings.fallbacks ?? [];
  const fallbacks = flags.length === 0 ? undefined : managedFallbacks(catalog, { ...target, models }, flags);
  const router = await openDaemonRouter(target, settings, context, catalog);
  if (fallbacks === undefined) return router;
  const { FallbackRouter } = await import('./fallback-router.js');
  return new FallbackRouter(router, { fallbackOf: fallbacks, fallbackAfterMs: settings.fallbackAfterMs, notice: context.notice });
}

/** Starts nothing yet: servers start on first use, in the scheduler's model order. */
async function openManagedRouter(target: ManagedTarget, settings: RouterSettings, context: OpenRouterContext): Promise<Router> {
  const models = await modelsOf(target, context);
  const [{ openModelPool }, { PoolRouter }] = await Promise.all([import('./open-model-pool.js'), import('./pool-router.js')]);
  const flags = settings.fallbacks ?? [];
  const fallbacks = flags.length === 0 ? undefined : managedFallbacks(new ModelCatalog({ models, modelsDir: target.modelsDir, cwd: context.cwd }), target, flags);
  const { pool, description, engine } = await openModelPool({ ...settings, models, modelsDir: target.modelsDir }, context);
  context.onEngine?.(engine, (settings.engine ?? 'auto') !== 'auto');
  context.notice?.(
    `managed ${description}: ${settings.slots} slot(s) × ${settings.contextSize} tokens of context per model (at most its trained context), at most ${settings.maxModels} model(s) loaded; logs in ${context.logDir}`,
  );
  const router = new PoolRouter(pool);
  if (fallbacks === undefined) return router;
  const { FallbackRouter } = await import('./fallback-router.js');
  return new FallbackRouter(router, { fallbackOf: fallbacks, fallbackAfterMs: settings.fallbackAfterMs, notice: context.notice });
}

/**
 * A fleet's fallbacks, from `--fallback` and the servers file, checked. The models they name are
 * checked when the fleet's models are known: every server is in the servers file with `models`.
 */
function fleetFallbacks(target: FleetTarget, flags: readonly string[]): Map<string, Fallback> {
  const file = target.serversFile;
  const servers = file === undefined ? [] : parseServersFile(file);
  const fallbacks = checkFallbacks([...parseFallbackFlags(flags), ...(file === undefined ? [] : fallbacksOfServers(servers, file))]);
  if (fallbacks.size > 0 && file !== undefined && target.servers.length === 0 && servers.every((s) => s.models !== undefined)) {
    const served = new Set(servers.flatMap((s) => s.models ?? []));
    checkFallbackModels(fallbacks.values(), (name) => served.has(name), `is served by any server of --servers ${file} (their "models": ${[...served].join(', ')})`);
  }
  return fallbacks;
}

/**
 * Managed servers' fallbacks, checked against the models the run can start (`--model` names and
 * aliases, `--models-dir`), and keyed by model: a prompt may name one by alias or file name.
 */
function managedFallbacks(catalog: ModelCatalog, target: ManagedTarget | DaemonTarget, flags: readonly string[]): FallbackRouterOptions['fallbackOf'] | undefined {
  const given = parseFallbackFlags(flags);
  if (given.length === 0) return undefined;
  const idOf = (name: string | undefined): string | undefined => {
    try {
      return catalog.resolve(name).id;
    } catch {
      return undefined;
    }
  };
  const places = [target.models.length > 0 ? `--model ${target.models.join(', ')}` : undefined, target.modelsDir === undefined ? undefined : `--models-dir ${target.modelsDir}`].filter((p) => p !== undefined);
  checkFallbackModels(given, (name) => idOf(name) !== undefined, `among ${places.length === 0 ? 'the models (no --model or --models-dir was given)' : places.join(' or ')}`);
  const byId = checkFallbacks(given.map((f) => ({ ...f, from: idOf(f.from)!, to: idOf(f.to)! })));
  return (model) => {
    const id = idOf(model);
    return id === undefined ? undefined : byId.get(id);
  };
}
