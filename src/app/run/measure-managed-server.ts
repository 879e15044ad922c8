import type { ConcurrencyCurve, MeasureConcurrencyOptions } from '../../hardware/measure-concurrency.js';
import type { ManagedServerSettings } from '../routing/open-model-pool.js';

export interface MeasureManagedServerOptions {
  /** The server to start: its first model is measured; `maxModels` is taken as 1. */
  readonly settings: Omit<ManagedServerSettings, 'maxModels'>;
  /** Folder relative model paths are resolved against. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Server logs go here. */
  readonly logDir: string;
  /** Passed on to `measureConcurrency`. */
  readonly measure: Omit<MeasureConcurrencyOptions, 'backend'>;
  readonly notice?: (line: string) => void;
}

/**
 * Starts one managed server for the first model exactly as `batch run` would (the same wiring:
 * llama-server or the embedded server, its flags and threads), measures it, and stops it
 * whatever happens.
 */
export async function measureManagedServer(options: MeasureManagedServerOptions): Promise<ConcurrencyCurve> {
  const [{ openModelPool }, { measureConcurrency }] = await Promise.all([import('../routing/open-model-pool.js'), import('../../hardware/measure-concurrency.js')]);
  const { settings } = options;
  const { pool, description } = await openModelPool({ ...settings, maxModels: 1 }, options);
  try {
    options.notice?.(`starting ${description} for ${settings.models[0] ?? '(no model)'} with ${settings.slots} slot(s) × ${settings.contextSize} tokens; logs in ${options.logDir}`);
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
