import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';

/** What the reaper runs and how it stops it. */
export interface ReaperOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** Time between SIGTERM and SIGKILL to the server's process group. @default 5000 */
  readonly graceMs?: number;
  /** The pipe from the parent (`batch`); its end or error means the parent is gone. */
  readonly parentPipe: NodeJS.ReadableStream;
  /** File descriptor on which the server's pid is reported as one JSON line. @default undefined (not reported) */
  readonly reportFd?: number;
  /** Where spawn failures are written. @default process.stderr */
  readonly errorOutput?: NodeJS.WritableStream;
}

/** How the server ended: the reaper ends the same way. */
export interface ReaperOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The signals that ask the reaper to stop its server. */
export const REAPER_STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/** Exit code when the server command cannot be started at all (as a shell does). */
export const REAPER_SPAWN_FAILED = 127;

/**
 * Runs a server in its own process group and guarantees it does not outlive the parent: when the
 * parent pipe ends (the parent died, even by SIGKILL) or a stop signal arrives, the whole group
 * gets SIGTERM, then SIGKILL after the grace period. Resolves when the server has exited.
 */
export function runReaper(options: ReaperOptions): Promise<ReaperOutcome> {
  const graceMs = options.graceMs ?? 5000;
  const errorOutput = options.errorOutput ?? process.stderr;
  return new Promise((resolve) => {
    // detached: a group of its own, so one kill(-pid) reaches the helpers the server starts, and
    // a Ctrl-C in the terminal reaches batch only (batch decides when servers stop).
    // The server's stdin is a pipe the reaper holds: the embedded server exits when it closes.
    let stopping = false;
    // A listener before the server exists: without one, a SIGTERM between the spawn and the setup
    // below ends this reaper at once (the default action), leaving the server, in a group of its
    // own, with nobody to stop it. Listened to, a signal waits for the event loop, and so for `stop`.
    const early = (): void => {
      stopping = true;
    };
    for (const signal of REAPER_STOP_SIGNALS) process.on(signal, early);
    const child = spawn(options.command, [...options.args], { detached: true, stdio: ['pipe', 'inherit', 'inherit'] });
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const stop = (): void => {
      if (killTimer !== undefined || settled) return;
      stopping = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), graceMs);
    };
    const finish = (outcome: ReaperOutcome): void => {
      if (settled) return;
      settled = true;
      if (killTimer !== undefined) clearTimeout(killTimer);
      for (const signal of REAPER_STOP_SIGNALS) process.off(signal, stop);
      options.parentPipe.off('end', stop);
      options.parentPipe.off('close', stop);
      options.parentPipe.off('error', stop);
      options.parentPipe.pause();
      resolve(outcome);
    };

    child.once('error', (error) => {
      errorOutput.write(`process-reaper: cannot start ${options.command}: ${error.message}\n`);
      finish({ code: REAPER_SPAWN_FAILED, signal: null });
    });
    child.once('spawn', () => {
      if (options.reportFd !== undefined && child.pid !== undefined) {
        try {
          writeSync(options.reportFd, `${JSON.stringify({ event: 'spawned', pid: child.pid })}\n`);
        } catch {
          // The parent closed its end: it is gone, and the pipe's end stops the server.
        }
      }
    });
    child.once('exit', (code, signal) => {
      // Helpers the server started may outlive it in its group; nothing of it may stay behind.
      killGroup('SIGKILL');
      finish({ code, signal });
    });
    // Never written: unused, but it must stay open while the server runs.
    child.stdin?.on('error', () => undefined);

    for (const signal of REAPER_STOP_SIGNALS) {
      process.off(signal, early);
      process.on(signal, stop);
    }
    // Asked to stop while the server was being spawned: it is stopped now.
    if (stopping) stop();
    options.parentPipe.on('end', stop);
    options.parentPipe.on('close', stop);
    options.parentPipe.on('error', stop);
    options.parentPipe.resume();
  });
}
