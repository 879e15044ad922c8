import path from 'node:path';
import { daemonDir } from '../../daemon/daemon-record.js';
import { openDaemonLog } from './daemon-log.js';
import { runDaemon } from './run-daemon.js';
import type { DaemonSettings } from './daemon-settings.js';
import { DaemonRunningError } from './start-daemon.js';

/**
 * `node daemon-main.js <home> <settings JSON>`: the detached daemon `batch up` starts. It logs to
 * `<home>/daemon/daemon.log`. SIGTERM, SIGINT or SIGHUP stop it with the default grace; a second
 * one stops it at once. Exit codes: 0 stopped, 3 could not start, 4 another daemon holds the home.
 * Killed outright (SIGKILL), its model servers stop by themselves: each one's reaper sees the
 * daemon's pipe close.
 */
async function main(): Promise<void> {
  const [home, json] = process.argv.slice(2);
  if (home === undefined || json === undefined) {
    process.stderr.write('usage: daemon-main.js <batch home> <settings JSON> (started by `batch up`)\n');
    process.exit(2);
  }
  const logPath = path.join(daemonDir(home), 'daemon.log');
  const log = openDaemonLog(logPath);
  process.on('uncaughtException', (error) => {
    log(`crashed: ${error.stack ?? error.message}`);
    process.exit(1);
  });
  const soft = new AbortController();
  const hard = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => (soft.signal.aborted ? hard.abort() : soft.abort()));
  }
  try {
    const reason = await runDaemon(JSON.parse(json) as DaemonSettings, { home, cwd: process.cwd(), env: process.env, log, logPath }, { softStop: soft.signal, hardStop: hard.signal });
    log(`exit: ${reason}`);
    process.exit(0);
  } catch (error) {
    log(`could not start: ${(error as Error).message}`);
    process.exit(error instanceof DaemonRunningError ? 4 : 3);
  }
}

await main();
