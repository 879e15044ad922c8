import { childProcess } from '../../util/child-process.js';
import path from 'node:path';
import { AppError } from '../../errors.js';
import { ExitCode } from '../../exit-code.js';
import type { RunSummary } from '../../reporting/run-summary.js';
import { JobReader } from '../../store/job-reader.js';
import { onFinishEnv, type KeyVariables, type OnFinishFacts, type RunOutcome } from './on-finish-env.js';

/** How long `--on-finish` may run before it is killed. */
export const onFinishTimeoutMs = 60_000;

/** How to run `--on-finish`. */
export interface RunOnFinishOptions {
  /** The shell command (`sh -c`). */
  readonly command: string;
  readonly facts: OnFinishFacts;
  /** `batch`'s environment, which the command's is made from (`onFinishEnv`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly keys: KeyVariables;
  /** Where the command's output and its failure go: never stdout, which may carry `--json`. */
  readonly stderr: NodeJS.WritableStream;
  /** Killed (its whole process group) after this long. @default 60000 */
  readonly timeoutMs?: number;
  /** Killed when this aborts while it runs (a second Ctrl-C: the user wants `batch` gone). */
  readonly stop?: AbortSignal;
}

/**
 * Runs `--on-finish` through the shell and waits for it. It never throws: a command that fails,
 * cannot start or runs past `timeoutMs` is reported on `stderr` and the run's exit code stays.
 */
export async function runOnFinish(options: RunOnFinishOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? onFinishTimeoutMs;
  const fail = (why: string): void => {
    options.stderr.write(`batch: --on-finish ${JSON.stringify(options.command)} ${why}; the run's exit code (${options.facts.exitCode}) is unchanged\n`);
  };
  await new Promise<void>((resolve) => {
    // Its own process group, so that a timeout kills what the shell started too.
    const child = childProcess().spawn('/bin/sh', ['-c', options.command], { cwd: options.keys.cwd, env: onFinishEnv(options.env, options.facts, options.keys), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout.on('data', (chunk: Buffer) => options.stderr.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => options.stderr.write(chunk));
    let killedBy: string | undefined;
    const kill = (why: string): void => {
      killedBy ??= why;
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => kill(`ran past ${timeoutMs / 1000} s and was killed`), timeoutMs);
    const onStop = (): void => kill('was killed by a second Ctrl-C');
    // Already stopped before it began: the bound still ends it, and the message is still sent.
    if (options.stop?.aborted === false) options.stop.addEventListener('abort', onStop, { once: true });
    const settle = (): void => {
      clearTimeout(timer);
      options.stop?.removeEventListener('abort', onStop);
    };
    child.on('error', (error) => {
      settle();
      fail(`could not start: ${error.message}`);
      resolve();
    });
    child.on('close', (code, signal) => {
      settle();
      if (killedBy !== undefined) fail(killedBy);
      else if (signal !== null) fail(`was killed by ${signal}`);
      else if (code === 127) fail('exited with 127: command not found (check its spelling and PATH)');
      else if (code !== 0) fail(`exited with ${code}`);
      resolve();
    });
  });
}

/** What `withOnFinish` runs the command with. */
export interface OnFinishIo {
  /** `batch`'s environment (`onFinishEnv` makes the command's from it). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stderr: NodeJS.WritableStream;
  /** A second Ctrl-C: kills the command. */
  readonly stop?: AbortSignal;
}

/** What a run tells the on-finish step as it goes (see `withOnFinish`). */
export interface RunEndTracker {
  /** The command, the job and its paths, once the run's plan is made (the command as given or remembered). */
  planned?: { readonly command: string | undefined; readonly job: string; readonly output: string; readonly database: string; readonly defaultDatabase: string; readonly keys: KeyVariables };
  /** Whether a request was about to be sent: a run that fails before that was refused, and runs nothing. */
  dispatched: boolean;
}

/**
 * Runs `run`, then `--on-finish` when the run reached its end (a summary) or failed after it
 * began sending (servers down, the store, anything else); a run refused before that runs nothing.
 * The run's result, or its error, is passed on unchanged.
 */
export async function withOnFinish(io: OnFinishIo, run: (end: RunEndTracker) => Promise<RunSummary>): Promise<RunSummary> {
  const { env, stderr, stop } = io;
  const end: RunEndTracker = { dispatched: false };
  let summary: RunSummary;
  try {
    summary = await run(end);
  } catch (error) {
    const planned = end.planned;
    if (planned?.command !== undefined && end.dispatched) {
      const outcome: RunOutcome = (error as { code?: unknown }).code === 'ALL_SERVERS_DOWN' ? 'servers-down' : 'error';
      const exitCode = error instanceof AppError ? error.exitCode : 1;
      const facts: OnFinishFacts = { ...planned, outcome, exitCode, counts: readCounts(planned.database, planned.job) };
      await runOnFinish({ command: planned.command, facts, env, keys: planned.keys, stderr, stop });
    }
    throw error;
  }
  const planned = end.planned;
  if (planned?.command !== undefined) {
    const outcome = outcomeOf(summary.exitCode);
    const { done, failed, pending, total } = summary;
    await runOnFinish({ command: planned.command, facts: { ...planned, outcome, exitCode: summary.exitCode, counts: { done, failed, pending, total } }, env, keys: planned.keys, stderr, stop });
  }
  return summary;
}

/** The job's counts after a run that failed, from its database; none when it cannot be read. */
function readCounts(database: string, job: string): OnFinishFacts['counts'] {
  try {
    const reader = JobReader.open({ path: path.resolve(database) });
    try {
      const record = reader.getJob(job);
      if (record === undefined) return undefined;
      const { done, failed, pending, running, total } = reader.countByStatus(record.id);
      return { done, failed, pending: pending + running, total };
    } finally {
      reader.close();
    }
  } catch {
    return undefined;
  }
}

/** How a run that reached its summary ended, by its exit code. */
function outcomeOf(exitCode: number): RunOutcome {
  if (exitCode === ExitCode.Ok) return 'done';
  if (exitCode === ExitCode.Interrupted) return 'interrupted';
  if (exitCode === ExitCode.Deadline) return 'deadline';
  return 'failed';
}
