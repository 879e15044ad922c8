import { countPhysicalCores } from './physical-cores.js';
import type { ConcurrencyCurve, MeasureConcurrencyOptions } from './measure-concurrency.js';

export interface MeasureManagedServerOptions {
  /** The `--model` value (path, or alias=path) to serve. */
  readonly model: string;
  /** Folder resolved against for relative model paths. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Server logs go here. */
  readonly logDir: string;
  /** Parallel sequences of the started server (`-np`). */
  readonly slots: number;
  /** Context per slot. */
  readonly contextSize: number;
  /** CPU threads; capped at the physical cores. */
  readonly threads: number;
  /** Passed on to `measureConcurrency`. */
  readonly measure: Omit<MeasureConcurrencyOptions, 'backend'>;
  readonly notice?: (line: string) => void;
}

/**
 * Starts one managed server for `model` the way `batch run` does (llama-server on PATH, else the
 * embedded server), measures it, and stops it whatever happens.
 */
export async function measureManagedServer(options: MeasureManagedServerOptions): Promise<ConcurrencyCurve> {
  const [{ ModelCatalog }, { ModelPool }, { findLlamaServer }, { installServerCleanup }, { createBackend }, { measureConcurrency }] = await Promise.all([
    import('../servers/model-catalog.js'),
    import('../servers/model-pool.js'),
    import('../servers/server-launcher.js'),
    import('../servers/server-registry.js'),
    import('../backends/open-backend.js'),
    import('./measure-concurrency.js'),
  ]);
  const catalog = new ModelCatalog({ models: [options.model], cwd: options.cwd });
  const binary = findLlamaServer(options.env);
  const threads = Math.min(options.threads, countPhysicalCores());
  installServerCleanup(process);
  const pool = new ModelPool({
    catalog,
    launch: binary ? { kind: 'llama-server', binary } : { kind: 'embedded', threads },
    createBackend: (type, backendOptions) => createBackend(type, backendOptions),
    logDir: options.logDir,
    maxModels: 1,
    slotsPerServer: options.slots,
    contextSize: options.contextSize,
  });
  try {
    options.notice?.(`starting ${binary ? `llama-server (${binary})` : 'the embedded llama.cpp server'} for ${options.model} with ${options.slots} slot(s) × ${options.contextSize} tokens; logs in ${options.logDir}`);
    const lease = await pool.acquire(undefined);
    try {
      return await measureConcurrency({ ...options.measure, backend: lease.backend });
    } finally {
      lease.release();
    }
  } finally {
    await pool.close();
  }
}
