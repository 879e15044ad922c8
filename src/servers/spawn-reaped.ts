import type { ChildProcess } from 'node:child_process';
import { childProcess } from '../util/child-process.js';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { resolveCompiledScript } from './resolve-compiled-script.js';

/** How a process ended. */
export interface ExitOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnReapedOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** SIGTERM-to-SIGKILL grace the reaper applies to the server's group. */
  readonly graceMs: number;
  /** File descriptor that receives the server's stdout and stderr (its log). */
  readonly outputFd: number;
  /** The compiled reaper entry point. @default process-reaper-main.js beside this module */
  readonly reaperScript?: string;
  /** The server's environment (the reaper passes its own on). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A server running under its reaper. */
export interface ReapedProcess {
  /** The reaper. */
  readonly reaper: ChildProcess;
  /** The server's pid, once the reaper has reported it. */
  readonly serverPid: number | undefined;
  /** Settles when the reaper has exited, which it does only after the server has. */
  readonly exited: Promise<ExitOutcome>;
}

/**
 * Starts `command` through process-reaper-main.js, so that it cannot outlive this process. The
 * reaper gets a process group of its own: a Ctrl-C in the terminal reaches batch only, and batch
 * decides when servers stop. Its stdin is a pipe held here, whose end (this process died, even by
 * SIGKILL) makes it stop the server.
 */
export function spawnReaped(options: SpawnReapedOptions): ReapedProcess {
  const reaperScript = options.reaperScript ?? resolveCompiledScript('servers/process-reaper-main.js');
  const reaper = childProcess().spawn(process.execPath, [reaperScript, '--grace-ms', String(options.graceMs), '--report-fd', '3', '--', options.command, ...options.args], {
    detached: true,
    stdio: ['pipe', options.outputFd, options.outputFd, 'pipe'],
    env: options.env ?? process.env,
  });
  reaper.stdin?.on('error', () => undefined);
  const exited = new Promise<ExitOutcome>((resolve) => {
    reaper.once('exit', (code, signal) => resolve({ code, signal }));
    reaper.once('error', () => resolve({ code: null, signal: null }));
  });
  let serverPid: number | undefined;
  const report = reaper.stdio[3] as Readable | null;
  if (report) {
    createInterface({ input: report }).on('line', (line) => {
      try {
        const event = JSON.parse(line) as { event?: unknown; pid?: unknown };
        if (event.event === 'spawned' && typeof event.pid === 'number') serverPid = event.pid;
      } catch {
        // Only the reaper writes here, one JSON line.
      }
    });
  }
  return {
    reaper,
    exited,
    get serverPid() {
      return serverPid;
    },
  };
}

/** Sends `signal` to a pid (negative: a process group), ignoring ESRCH (already gone). */
export function sendSignal(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}
