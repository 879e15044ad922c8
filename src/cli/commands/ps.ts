import type { CliIo } from '../io.js';
import type { GivenSettings } from '../../app/settings/settings-table.js';

/** `batch ps`'s options. */
export type PsOptions = GivenSettings<'ps'>;

/**
 * `batch ps`: the daemon of the batch home, each model it runs (state, server pid, slots busy,
 * requests served, idle time and when it unloads, memory) and each run attached. With `--json`,
 * the same as one object (`{"running": false}` when no daemon runs). No daemon: said, exit 0.
 */
export async function psCommand(options: PsOptions, io: CliIo): Promise<number> {
  const [{ batchHome }, { findLiveDaemon }, { DaemonClient }] = await Promise.all([import('../../store/job-paths.js'), import('../../daemon/daemon-record.js'), import('../../daemon/daemon-client.js')]);
  const home = batchHome(io.env, io.cwd);
  const record = findLiveDaemon(home);
  if (record === undefined) {
    if (options.json === true) io.stdout.write(`${JSON.stringify({ running: false, home })}\n`);
    else io.stdout.write(`no daemon runs in ${home}; \`batch up\` starts one\n`);
    return 0;
  }
  const status = await new DaemonClient(record).status();
  if (options.json === true) {
    io.stdout.write(`${JSON.stringify({ running: true, home, ...status }, null, 2)}\n`);
    return 0;
  }
  const { formatDaemonStatus } = await import('../../reporting/format-daemon-status.js');
  io.stdout.write(formatDaemonStatus(status, Date.now()));
  return 0;
}
