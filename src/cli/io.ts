import type { Writable } from 'node:stream';

/**
 * Everything a command touches outside its options. Injected so that tests can run commands
 * in-process; `main.ts` builds the real one from `process`.
 */
export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Standard input, for `-` (JSONL on stdin). */
  readonly stdin: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Whether stderr is a terminal (progress bar) or a log (status lines). */
  readonly isTTY: boolean;
  /**
   * Fires when the user asks to stop (first Ctrl-C / SIGTERM). A second request aborts
   * `hardStop`. Commands that run long work watch these.
   */
  readonly softStop: AbortSignal;
  readonly hardStop: AbortSignal;
  /**
   * Says that a stop signal is how this command ends normally (a daemon in the foreground): its
   * exit code stays its own instead of becoming 130. @default a stop is an interruption
   */
  readonly stopEndsNormally?: () => void;
}
