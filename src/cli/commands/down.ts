import type { CliIo } from '../io.js';
import type { GivenSettings } from '../../app/settings/settings-table.js';

/** `batch down`'s options. */
export type DownOptions = GivenSettings<'down'>;

/**
 * `batch down`: stops the daemon of the batch home and every model server it started, letting
 * requests in flight finish for `--grace` (`--now`: at once). No daemon running is said, exit 0.
 */
export async function downCommand(options: DownOptions, io: CliIo): Promise<number> {
  const [{ batchHome }, { findLiveDaemon }, { stopDaemon }, { settingDefault }] = await Promise.all([
    import('../../store/job-paths.js'),
    import('../../daemon/daemon-record.js'),
    import('../../app/daemon/stop-daemon.js'),
    import('../../app/settings/settings-table.js'),
  ]);
  const home = batchHome(io.env, io.cwd);
  const record = findLiveDaemon(home);
  if (record === undefined) {
    io.stderr.write(`batch: no daemon runs in ${home}; nothing to stop\n`);
    return 0;
  }
  const graceMs = options.now === true ? 0 : (options.graceMs ?? settingDefault('down', 'graceMs'));
  io.stderr.write(`batch: stopping the daemon, pid ${record.pid} at ${record.url}${graceMs > 0 ? `; requests in flight may finish for ${graceMs / 1000} s` : ''} ...\n`);
  const how = await stopDaemon(record, { graceMs });
  io.stderr.write(
    how === 'stopped'
      ? 'batch: daemon stopped; every model server it started is stopped\n'
      : `batch: the daemon did not stop in time and was killed; its model servers stop by themselves (their reapers); see ${record.logPath}\n`,
  );
  return 0;
}
