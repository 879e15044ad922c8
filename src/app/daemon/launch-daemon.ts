import { childProcess } from '../../util/child-process.js';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { makeFolder } from '../../util/make-folder.js';
import { AppError } from '../../errors.js';
import { daemonDir, findLiveDaemon, isDaemonAlive, readDaemonRecord, type DaemonRecord } from '../../daemon/daemon-record.js';
import { DaemonRunningError } from './start-daemon.js';
import { requestLocal } from '../../servers/request-local.js';
import { resolveCompiledScript } from '../../servers/resolve-compiled-script.js';
import type { DaemonSettings } from './daemon-settings.js';

export interface LaunchDaemonContext {
  readonly home: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How long the daemon may take to listen. @default 60000 */
  readonly readyTimeoutMs?: number;
  /** The compiled daemon entry. @default app/daemon/daemon-main.js under dist */
  readonly script?: string;
}

/** The daemon's log file in `home`. */
export function daemonLogPath(home: string): string {
  return path.join(daemonDir(home), 'daemon.log');
}

/**
 * Starts the daemon as a process of its own, detached from the terminal (its own session: a
 * Ctrl-C or a closed terminal does not reach it), and resolves once it listens, with its record.
 * Its output goes to its log. A daemon that cannot start is DAEMON_START_FAILED with the end of its
 * log; one that lost the home to another `batch up` started at the same time is DaemonRunningError.
 */
export async function launchDaemon(settings: DaemonSettings, context: LaunchDaemonContext): Promise<DaemonRecord> {
  const logPath = daemonLogPath(context.home);
  makeFolder(path.dirname(logPath), 0o700);
  const before = logSize(logPath);
  const fd = openSync(logPath, 'a', 0o600);
  const script = context.script ?? resolveCompiledScript('app/daemon/daemon-main.js');
  const child = childProcess().spawn(process.execPath, [script, context.home, JSON.stringify(settings)], { detached: true, stdio: ['ignore', fd, fd], env: context.env as NodeJS.ProcessEnv, cwd: context.cwd });
  closeSync(fd);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => (exit = { code, signal }));
  child.once('error', () => (exit = { code: null, signal: null }));
  child.unref();
  const deadline = Date.now() + (context.readyTimeoutMs ?? 60_000);
  for (;;) {
    const record = readDaemonRecord(context.home);
    if (record !== undefined && record.pid === child.pid && isDaemonAlive(record) && (await answersHealth(record.url))) return record;
    if (exit !== undefined) {
      // Two `batch up` at once: the other one's daemon holds the home, and serves.
      const running = exit.code === 4 ? findLiveDaemon(context.home) : undefined;
      if (running !== undefined) throw new DaemonRunningError(context.home, running);
      const how = exit.code === 4 ? 'another daemon took the batch home first' : `it exited with ${exit.signal ?? `code ${String(exit.code)}`}`;
      throw new AppError('DAEMON_START_FAILED', `the batch daemon did not start (${how}); its log ${logPath} says:\n${logTail(logPath, before)}`);
    }
    if (Date.now() > deadline) {
      try {
        process.kill(child.pid!, 'SIGTERM');
      } catch {
        // Gone.
      }
      throw new AppError('DAEMON_START_FAILED', `the batch daemon did not listen within ${Math.round((context.readyTimeoutMs ?? 60_000) / 1000)} s; it was stopped. Its log ${logPath} says:\n${logTail(logPath, before)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function answersHealth(url: string): Promise<boolean> {
  try {
    return (await requestLocal(`${url}/health`, { timeoutMs: 2000 })).statusCode === 200;
  } catch {
    return false;
  }
}

function logSize(file: string): number {
  try {
    return readFileSync(file).length;
  } catch {
    return 0;
  }
}

/** The lines the daemon wrote since `from` (its last 20). */
function logTail(file: string, from: number): string {
  try {
    const lines = readFileSync(file).subarray(from).toString('utf8').trimEnd().split('\n');
    return lines.slice(-20).map((line) => `  ${line}`).join('\n');
  } catch {
    return '  (no log)';
  }
}
