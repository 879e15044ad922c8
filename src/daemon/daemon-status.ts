import { readFileSync } from 'node:fs';
import type { AttachedRun } from './attached-runs.js';

/** One model of `batch ps`. */
export interface DaemonModelStatus {
  readonly model: string;
  readonly path: string;
  /** `loading` while its server starts; models not running are not listed. */
  readonly state: 'loading' | 'ready';
  /** The model server's pid. */
  readonly pid?: number;
  /** Requests on it now, and its slots. */
  readonly slotsBusy: number;
  readonly slots: number;
  /** Requests waiting for one of its slots. */
  readonly waiting: number;
  /** Requests it served since the daemon started (all its loads). */
  readonly requestsServed: number;
  readonly loads: number;
  readonly restarts: number;
  /** Milliseconds since its last request. */
  readonly idleMs: number;
  /** Milliseconds until it is unloaded for idleness, if nothing uses it; undefined while a run holds it or it is busy. */
  readonly unloadInMs?: number;
  /** Whether a run is inside its group of prompts (it is then not evicted for another model). */
  readonly held: boolean;
  /** The server process's resident memory (RSS), where /proc tells it. */
  readonly rssBytes?: number;
  /** The GPU memory the server process uses, where nvidia-smi tells it. */
  readonly vramBytes?: number;
  /** Its memory as the budget estimated it (model, context), when `--memory-budget` is set. */
  readonly estimatedBytes?: number;
  readonly logPath?: string;
}

/** What `GET /batch/v1/status` answers and `batch ps` prints. */
export interface DaemonStatus {
  readonly pid: number;
  readonly url: string;
  readonly startedAt: number;
  /** The engine, in words: "llama-server (/path)" or "embedded llama.cpp server, 3 thread(s)". */
  readonly engine: string;
  readonly slots: number;
  readonly contextSize: number;
  readonly maxModels: number;
  /** `--idle`, in ms. */
  readonly idleMs: number;
  readonly exitWhenIdle: boolean;
  readonly models: readonly DaemonModelStatus[];
  readonly runs: readonly AttachedRun[];
  /** Every model the daemon ever started, loaded now or not: counts since it started. */
  readonly history: readonly { readonly model: string; readonly loads: number; readonly loadMsTotal: number; readonly restarts: number; readonly requestsServed: number }[];
  /** Every model it can serve: `batch up --model`, `--models-dir`, and the files runs loaded. */
  readonly available: readonly { readonly model: string; readonly path: string }[];
}

/** The resident memory of `pid` in bytes (Linux /proc); undefined elsewhere or when it is gone. */
export function processRssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}
