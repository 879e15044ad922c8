import type { ServerEngine } from '../../servers/choose-server-launch.js';

/** What `batch up` starts a daemon with: its rows of the settings table, defaults filled in. */
export interface DaemonSettings {
  /** `--model` values (`path` or `alias=path`); the first is the default of requests that name none. */
  readonly models: readonly string[];
  /** `--models-dir`: where model names of requests are looked up. */
  readonly modelsDir?: string;
  /** `--engine`. @default 'auto' */
  readonly engine?: ServerEngine;
  /** `--llama-server`: the binary. */
  readonly llamaServer?: string;
  /** `--llama-server-args`. */
  readonly llamaServerArgs?: string;
  /** `--gpu-layers`. */
  readonly gpuLayers?: number;
  /** `--threads`. */
  readonly threads?: number;
  /** `--slots`: requests one model's server runs at once, shared by every run. */
  readonly slots: number;
  /** `--ctx`: context per slot, in tokens. */
  readonly contextSize: number;
  /** `--max-models`: model servers running at once, least recently used out (never one a run is inside). */
  readonly maxModels: number;
  /** `--memory-budget`, in bytes. */
  readonly memoryBudgetBytes?: number;
  /** `--startup-timeout`, in ms. */
  readonly startupTimeoutMs: number;
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
