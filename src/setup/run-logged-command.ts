import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One command of a long build step. */
export interface LoggedCommand {
  readonly command: string;
  readonly args: readonly string[];
  /** Receives each line of the command's stdout and stderr, as they come. */
  readonly onLine: (line: string) => void;
  /** Aborting it stops the command and everything it started. */
  readonly signal?: AbortSignal;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Runs a command to its end; rejects with what failed (exit code or signal) when it does not exit 0. */
export type CommandRunner = (command: LoggedCommand) => Promise<void>;

/** How long a stopped command's process group has between SIGTERM and SIGKILL. */
const killGraceMs = 5_000;

/**
 * The real `CommandRunner`. The command gets a process group of its own, so that stopping it
 * (the signal aborts) reaches the compilers `make` or `ninja` started, not just the first process;
 * and because its output is a pipe to this process, it dies on its next write if this one is killed.
 */
export const runLoggedCommand: CommandRunner = (options) =>
  new Promise<void>((resolve, reject) => {
    const { command, args, onLine, signal } = options;
    if (signal?.aborted) {
      reject(abortError(command, signal));
      return;
    }
    const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), killGraceMs);
      killTimer.unref();
    };
    signal?.addEventListener('abort', stop, { once: true });
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', onLine);
    child.once('error', (error) => {
      signal?.removeEventListener('abort', stop);
      reject(new Error(`could not start ${command}: ${error.message}`, { cause: error }));
    });
    child.once('close', (code, exitSignal) => {
      signal?.removeEventListener('abort', stop);
      if (killTimer !== undefined) clearTimeout(killTimer);
      // Whatever the group still runs (a compiler the build tool left behind) goes with it.
      killGroup(child.pid, 'SIGKILL');
      if (signal?.aborted) reject(abortError(command, signal));
      else if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} ${code === null ? `was killed by ${exitSignal}` : `exited with code ${code}`}`));
    });
  });

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone.
  }
}

function abortError(command: string, signal: AbortSignal): Error {
  return new Error(`${command} was stopped`, { cause: signal.reason });
}
