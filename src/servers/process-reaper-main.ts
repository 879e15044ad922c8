import { parseWholeNumber } from '../util/check-option.js';
import { REAPER_STOP_SIGNALS, runReaper } from './process-reaper.js';

/**
 * `node process-reaper-main.js [--grace-ms N] [--report-fd N] -- <command> [args...]`
 * Runs <command> so that it cannot outlive the process holding this one's stdin (see runReaper).
 * The grace period also comes from env BATCH_REAPER_GRACE_MS. Exits the way the server exited.
 */
async function main(argv: readonly string[]): Promise<void> {
  const separator = argv.indexOf('--');
  const own = separator === -1 ? [] : argv.slice(0, separator);
  const [command, ...args] = separator === -1 ? [] : argv.slice(separator + 1);
  let graceMs = parseNonNegative('BATCH_REAPER_GRACE_MS', process.env.BATCH_REAPER_GRACE_MS) ?? 5000;
  let reportFd: number | undefined;
  for (let i = 0; i < own.length; i += 2) {
    const value = own[i + 1];
    if (own[i] === '--grace-ms') graceMs = parseNonNegative('--grace-ms', value) ?? graceMs;
    else if (own[i] === '--report-fd') reportFd = parseNonNegative('--report-fd', value);
    else usage(`unknown option ${JSON.stringify(own[i])}`);
  }
  if (command === undefined || command === '') usage('expected a command after `--`, got none');

  const outcome = await runReaper({ command, args, graceMs, parentPipe: process.stdin, reportFd });
  if (outcome.signal !== null) {
    // Die of the same signal so the parent sees what happened to the server.
    for (const signal of REAPER_STOP_SIGNALS) process.removeAllListeners(signal);
    process.kill(process.pid, outcome.signal);
    return;
  }
  process.exit(outcome.code ?? 1);
}

function parseNonNegative(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  try {
    return parseWholeNumber(name, value, 0);
  } catch (error) {
    usage((error as Error).message);
  }
}

function usage(message: string): never {
  process.stderr.write(`process-reaper: ${message}\nusage: process-reaper-main.js [--grace-ms N] [--report-fd N] -- <command> [args...]\n`);
  process.exit(2);
}

await main(process.argv.slice(2));
