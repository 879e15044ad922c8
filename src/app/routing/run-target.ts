import type { ServerType } from '../../backends/backend.js';

/**
 * Where a run's prompts go, decided once from its settings (`resolveRunTarget`) and handed to
 * everything that must agree on it: the router's opener, the dry run, the request gate and the
 * settings' advice rules. Every consumer switches on `kind` and ends in `unknownTarget`, so a new
 * kind cannot be forgotten anywhere: the compiler lists each switch that lacks it.
 *
 * A third kind, `daemon`, is the endpoint of servers that outlive a run (`batch up`, src/daemon/):
 * a run with no `--server` uses the daemon of its batch home when one runs, unless `--no-daemon`.
 */
export type RunTarget = FleetTarget | ManagedTarget | DaemonTarget;

/** Servers the user runs: `--server` URLs and a `--servers` file. */
export interface FleetTarget {
  readonly kind: 'fleet';
  /** `--server` URLs, as given. */
  readonly servers: readonly string[];
  /** `--servers`: a JSON file listing servers. */
  readonly serversFile?: string;
  /** `--server-type`: the flavour of the `--server` URLs (the file may name its own). */
  readonly serverType?: ServerType;
}

/** Servers `batch` starts itself, one per model, from GGUF files. */
export interface ManagedTarget {
  readonly kind: 'managed';
  /** `--model` values (`path` or `alias=path`); empty with no `modelsDir`: the default model. */
  readonly models: readonly string[];
  /** `--models-dir`: where model names used by prompts are looked up. */
  readonly modelsDir?: string;
}

/**
 * The daemon of the run's batch home (`batch up`): it serves the run's models (`--model`,
 * `--models-dir`, else the default model) from servers that stay loaded between runs. Its key
 * is read from its record when the router opens, never kept here.
 */
export interface DaemonTarget {
  readonly kind: 'daemon';
  readonly url: string;
  readonly pid: number;
  /** The batch home whose daemon it is (its record is there). */
  readonly home: string;
  readonly models: readonly string[];
  readonly modelsDir?: string;
}

/** The settings that decide a run's target. */
export interface RunTargetSettings {
  readonly servers?: readonly string[];
  readonly serversFile?: string;
  readonly serverType?: ServerType;
  readonly models?: readonly string[];
  readonly modelsDir?: string;
}

/** A daemon that runs in the batch home, as `findLiveDaemon` finds it. */
export interface FoundDaemon {
  readonly url: string;
  readonly pid: number;
  readonly home: string;
}

/**
 * A fleet when any `--server` or a `--servers` file is given; else the daemon of the batch home
 * when one runs (`daemon`: found, and not refused with `--no-daemon`); else managed servers.
 */
export function resolveRunTarget(settings: RunTargetSettings, daemon?: FoundDaemon): RunTarget {
  const servers = settings.servers ?? [];
  if (servers.length > 0 || settings.serversFile !== undefined) {
    return { kind: 'fleet', servers, serversFile: settings.serversFile, serverType: settings.serverType };
  }
  if (daemon !== undefined) return { kind: 'daemon', url: daemon.url, pid: daemon.pid, home: daemon.home, models: settings.models ?? [], modelsDir: settings.modelsDir };
  return { kind: 'managed', models: settings.models ?? [], modelsDir: settings.modelsDir };
}

/** The end of every `switch (target.kind)`: unreachable while each kind has its case. */
export function unknownTarget(target: never): never {
  throw new Error(`unknown run target ${JSON.stringify(target)}`);
}
