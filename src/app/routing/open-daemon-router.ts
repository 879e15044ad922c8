import type { Backend, EndpointInfo } from '../../backends/backend.js';
import { createBackend } from '../../backends/open-backend.js';
import { DaemonClient } from '../../daemon/daemon-client.js';
import { readDaemonRecord } from '../../daemon/daemon-record.js';
import { AppError } from '../../errors.js';
import { composeListeners } from '../../scheduler/listener-set.js';
import type { ModelCatalog } from '../../servers/model-catalog.js';
import { backendOptionsOf } from './backend-options.js';
import { DaemonRouter } from './daemon-router.js';
import { described, fleetNotices, notUpYet, type FleetContext } from './open-fleet.js';
import type { BackendSettings } from './backend-options.js';
import type { DaemonTarget } from './run-target.js';
import { StaticRouter, type StaticEndpoint } from './static-router.js';

/** The run settings the daemon's router takes. */
export interface DaemonRouterSettings extends BackendSettings {
  /** The run's `--slots`: its workers when the daemon does not say its own slots. */
  readonly slots: number;
  /** `--max-down`, in ms. */
  readonly maxDownMs?: number;
}

/**
 * The router of a run that uses the daemon of its batch home: the daemon's endpoint as a fleet of
 * one (its address and key from the daemon's record, the run's pid and job in a header of every
 * request so that `batch ps` and the daemon's fair sharing tell runs apart), behind a
 * `DaemonRouter` that loads the run's models in the daemon before their first prompt.
 */
export async function openDaemonRouter(target: DaemonTarget, settings: DaemonRouterSettings, context: FleetContext & { readonly job?: string }, catalog: ModelCatalog): Promise<DaemonRouter> {
  const record = readDaemonRecord(target.home);
  if (record === undefined) throw new AppError('SERVER_UNREACHABLE', `the batch daemon's record in ${target.home}/daemon is gone; run \`batch up\` again, or pass --no-daemon`);
  const client = new DaemonClient(record);
  context.notice?.(`using the batch daemon at ${record.url} (pid ${record.pid}): models stay loaded between runs; \`batch ps\` shows it, --no-daemon starts this run's own servers`);
  // Twice each model's slots in the daemon: the run's workers (unless --workers). A run that
  // keeps a request waiting at the daemon gets its turn at every freed slot (the daemon hands them
  // out in turn among runs that wait), and the slot is refilled without a round trip to the run.
  const slots = 2 * (record.slots ?? settings.slots);
  const headers: Record<string, string> = { 'x-batch-run': String(process.pid) };
  if (context.job !== undefined) headers['x-batch-job'] = encodeURIComponent(context.job);
  const connect = (): Promise<{ backend: Backend; info: EndpointInfo }> =>
    described(createBackend('openai', { ...backendOptionsOf(settings, Math.max(slots, context.workersHint ?? slots)), url: record.url, apiKey: record.key, headers }));
  // The daemon serves every model file a run names: none is refused for want of a listing.
  const given = { slots, models: [] as string[] };
  let endpoint: StaticEndpoint;
  try {
    endpoint = { ...given, ...(await connect()) };
  } catch (error) {
    // Down or loading: the run waits for it, as for a fleet's server; a refused key is no outage.
    const later = notUpYet(error);
    if (later === undefined) throw error;
    endpoint = { ...given, url: record.url, loading: later === 'loading', open: connect };
  }
  const router = new StaticRouter([endpoint], { maxDownMs: settings.maxDownMs, listener: composeListeners(fleetNotices(context, settings.maxDownMs, [record.url]), context.fleetListener) });
  const daemonRouter = new DaemonRouter({ endpoint: router, daemon: client, resolve: (model) => catalog.resolve(model), notice: context.notice });
  // Most runs send the default model's prompts first (or only).
  if (catalog.defaultModel !== undefined) daemonRouter.preload(undefined);
  return daemonRouter;
}
