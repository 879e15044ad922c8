import type { CliIo } from '../io.js';
import { ExitCode } from '../../errors.js';
import type { GivenSettings } from '../../app/settings/settings-table.js';

/** Options of `batch bench`: its rows of the settings table. */
export type BenchCommandOptions = GivenSettings<'bench'>;

/** `batch bench`: cold loads, warm latency one at a time, then through the pool; prints the comparison and saves it. */
export async function benchCommand(options: BenchCommandOptions, io: CliIo): Promise<number> {
  const [{ runBench }, { formatBench }] = await Promise.all([import('../../app/run/run-bench.js'), import('../../reporting/format-bench.js')]);
  const path = await import('node:path');
  const result = await runBench(
    { ...options, ...(options.db === undefined ? {} : { db: path.resolve(io.cwd, options.db) }) },
    { cwd: io.cwd, env: io.env, signal: io.softStop, notice: (line) => io.stderr.write(`batch: ${line}\n`) },
  );
  io.stdout.write(options.json === true ? `${JSON.stringify(result, null, 2)}\n` : formatBench(result));
  return ExitCode.Ok;
}
