import { cliTestEnv } from './cli-test-env.js';
import { Readable, Writable } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';
import { runProgram } from '../../src/cli/program.js';
import { ExitCode } from '../../src/errors.js';
import { reportError } from '../../src/cli/report-error.js';
import { OutputWaiters } from './output-waiters.js';
import { repoRoot } from './sim-process.js';

export interface InProcessCliOptions {
  /** The command's working folder. @default the repository root, as the spawned helper */
  readonly cwd?: string;
  /** Merged over process.env, CI=true and BATCH_OFFLINE=1. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Standard input (`-`). @default empty */
  readonly input?: string;
  /** Standard input as a stream that is still being written (a slow producer); wins over `input`. */
  readonly stdin?: NodeJS.ReadableStream;
}

export interface InProcessCliResult {
  /** The exit code `src/cli/main.ts` would set. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface InProcessCliRun {
  readonly done: Promise<InProcessCliResult>;
  /** Resolves once stdout+stderr contain `text`; rejects if the command ends first. */
  waitFor(text: string | RegExp): Promise<void>;
  /** What a first Ctrl-C does: stop dispatching, let in-flight prompts finish within --grace. */
  softStop(): void;
  /** What a second Ctrl-C does: abort in-flight prompts. */
  hardStop(): void;
  output(): string;
}

/**
 * Runs `batch ...args` in this process through `runProgram`, with captured output and the error
 * reporting of `main.ts`: the same exit codes and `batch: error [CODE]: message` lines, without a
 * process start per command. Signals are simulated through `softStop()` / `hardStop()`.
 * A run's results go through the production writer thread, which runs the worker compiled in
 * dist/ (`ThreadedResultWriter.workerScript()`): after changing what it runs (src/store, the
 * output writing), `npm run build` before these tests too.
 */
export function startCliInProcess(args: readonly string[], options: InProcessCliOptions = {}): InProcessCliRun {
  let stdout = '';
  let stderr = '';
  const waiters = new OutputWaiters(() => stdout + stderr);
  const check = (): void => waiters.check();
  const capture = (append: (text: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        append(chunk.toString());
        check();
        callback();
      },
    });
  const soft = new AbortController();
  const hard = new AbortController();
  const io: CliIo = {
    stdout: capture((text) => (stdout += text)),
    stderr: capture((text) => (stderr += text)),
    stdin: options.stdin ?? Readable.from(options.input === undefined ? [] : [options.input]),
    env: { ...process.env, ...cliTestEnv, ...options.env },
    cwd: options.cwd ?? repoRoot,
    isTTY: false,
    softStop: soft.signal,
    hardStop: hard.signal,
  };
  const done = runProgram(['node', 'batch', ...args], io).then(
    (code) => ({ code: code === ExitCode.Ok && soft.signal.aborted ? ExitCode.Interrupted : code, stdout, stderr }),
    (error: unknown) => {
      let reported = '';
      const code = reportError(error, new Writable({ write(chunk: Buffer | string, _encoding, callback) { reported += chunk.toString(); callback(); } }));
      stderr += reported;
      check();
      return { code, stdout, stderr };
    },
  );
  return {
    done,
    output: () => stdout + stderr,
    waitFor: (text) => waiters.waitFor(text, done, () => `batch ${args.join(' ')} ended`),
    softStop: () => soft.abort(),
    hardStop: () => hard.abort(),
  };
}

/** Runs `batch ...args` in this process to completion. */
export function runCliInProcess(args: readonly string[], options?: InProcessCliOptions): Promise<InProcessCliResult> {
  return startCliInProcess(args, options).done;
}
