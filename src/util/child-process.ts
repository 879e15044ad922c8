import { lazyPackage } from './lazy-package.js';

/**
 * node:child_process, loaded at its first use. A run needs it only for `--on-finish`, managed
 * servers, the daemon's start and nvidia-smi; loaded with the run's modules it took ~17 ms of
 * `batch run`'s start (under the run's heap flags node compiles built-ins without their code
 * cache: BENCHMARKS.md, "Start-up").
 */
export const childProcess = lazyPackage<typeof import('node:child_process')>('node:child_process');
