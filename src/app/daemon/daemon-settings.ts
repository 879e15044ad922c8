import type { BackendSettings } from '../routing/backend-options.js';
import type { ManagedServerSettings } from '../routing/open-model-pool.js';

/**
 * What `batch up` starts a daemon with: the settings of managed servers a run takes (`--model`,
 * `--models-dir`, `--engine`, `--slots`, `--ctx`, `--max-models`, …; saved advice and defaults
 * filled in), and the daemon's own.
 */
export interface DaemonSettings extends Omit<ManagedServerSettings, keyof BackendSettings> {
  /** `--port`: 0 for a free one. @default the last daemon's port in this batch home, else a free one */
  readonly port?: number;
  /** `--idle`, in ms: a model unused this long is unloaded. */
  readonly idleMs: number;
  /** `--exit-when-idle`: the daemon stops when nothing is loaded and nothing was asked for `idleMs`. */
  readonly exitWhenIdle: boolean;
  /** `--metrics-listen`: where Prometheus scrapes the daemon. */
  readonly metricsListen?: string;
}

/**
 * How long a run stays inside a model's group after its last request of it: its next request
 * comes within milliseconds while it sends that model's prompts. Past this the model may be evicted.
 */
export const daemonHoldMs = 10_000;

/** Time between the daemon's rounds of housekeeping: idle unloads, holds that ended, idle exit. */
export const housekeepingEveryMs = 1000;
