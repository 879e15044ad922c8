import path from 'node:path';
import { UsageError } from '../../errors.js';
import { checkOutputPath, type CheckOutputPathOptions } from './check-output-path.js';

/** What `checkMetricsPath` compares the metrics file with. */
export interface CheckMetricsPathOptions extends Omit<CheckOutputPathOptions, 'out' | 'flag'> {
  /** `--metrics`, absolute. */
  readonly metrics: string;
  /** The output file (`--out`, or its default), absolute. */
  readonly out: string;
}

/**
 * Refuses, before the first request, a `--metrics` file that is the output file or that
 * `checkOutputPath` would refuse as an output (an input, a database, a folder, an unwritable place).
 */
export async function checkMetricsPath(options: CheckMetricsPathOptions): Promise<void> {
  const { metrics, out, ...rest } = options;
  if (path.resolve(options.cwd, metrics) === path.resolve(options.cwd, out)) {
    throw new UsageError(`--metrics ${metrics} is the output file (--out); the two would overwrite each other: pass another --metrics`);
  }
  await checkOutputPath({ ...rest, out: metrics, flag: '--metrics' });
}
