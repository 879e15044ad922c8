import type { AppError } from '../errors.js';
import { ExitCode } from '../exit-code.js';
import type { Writable } from 'node:stream';
import type { CliIo } from './io.js';
import { runProgram } from './program.js';

/**
 * Whether an error is a write to a stdout whose reader is gone (`batch export JOB | head -1`):
 * EPIPE, or a later write to the stream that EPIPE destroyed.
 */
function isClosedStdout(error: unknown, stdoutClosed: boolean): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return stdoutClosed && (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED');
}

/**
 * The process wiring of the CLI, and the only place that sets `process.exitCode`: signals become
 * the soft and hard stop signals commands watch, and errors become messages and exit codes.
 */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  // Loaded only when there is an error to report: `batch --help` starts without it.
  const reportError = async (error: unknown, stderr: Writable): Promise<number> => (await import('./report-error.js')).reportError(error, stderr);
  const softStop = new AbortController();
  const hardStop = new AbortController();
  let interrupts = 0;
  let stopIsNormal = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stderr.write(`\nbatch: ${signal}: stopping; in-flight prompts may finish (press Ctrl-C again to abort them)\n`);
      softStop.abort();
    } else {
      process.stderr.write(`\nbatch: aborting in-flight prompts; everything answered so far is saved\n`);
      hardStop.abort();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // A reader that closes the pipe early has all it wants: like any Unix filter, stop quietly
  // (exit 0) instead of reporting EPIPE as a bug. Other stdout errors are reported as they come.
  let stdoutClosed = false;
  let stdoutFailure: NodeJS.ErrnoException | undefined;
  const onStdoutError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') stdoutClosed = true;
    else stdoutFailure ??= error;
  };
  // A full disk or a device error behind stdout is the machine's problem, not a bug in batch.
  const outputFailed = async (cause: NodeJS.ErrnoException): Promise<AppError> =>
    new (await import('../errors.js')).AppError('OUTPUT_WRITE_FAILED', `cannot write to standard output (${cause.code ?? cause.message}): free some space, or write to a file with --out; the job database keeps everything`, { cause });
  process.stdout.on('error', onStdoutError);

  // Standard input and error are set up when a command first uses them: `batch --help` needs neither.
  const io: CliIo = {
    stdout: process.stdout,
    get stderr() {
      return process.stderr;
    },
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: process.cwd(),
    get isTTY() {
      return process.stderr.isTTY === true;
    },
    softStop: softStop.signal,
    hardStop: hardStop.signal,
    stopEndsNormally: () => {
      stopIsNormal = true;
    },
  };

  try {
    process.exitCode = await runProgram(argv, io);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (isClosedStdout(error, stdoutClosed)) process.exitCode = ExitCode.Ok;
    else if (stdoutFailure !== undefined && code === stdoutFailure.code) process.exitCode = await reportError(await outputFailed(stdoutFailure), process.stderr);
    else process.exitCode = await reportError(error, process.stderr);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    if (interrupts > 0 && !stopIsNormal && process.exitCode === ExitCode.Ok) process.exitCode = ExitCode.Interrupted;
    // Output that never arrived makes no successful command: wait until what was written is
    // flushed (or has failed) before deciding.
    if (!stdoutClosed) await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    if (stdoutFailure !== undefined && process.exitCode === ExitCode.Ok) process.exitCode = await reportError(await outputFailed(stdoutFailure), process.stderr);
    // Every server is stopped and every result committed by now. A library that leaves a handle
    // open (node-llama-cpp's downloader after a failed download does) must not keep a finished
    // batch alive; the timer is unref'd, so a clean exit is never delayed by it.
    setTimeout(() => process.exit(), 2000).unref();
  }
}
