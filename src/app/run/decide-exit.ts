import { ExitCode } from '../../errors.js';

/** What a run that got to its end knows of how it went. */
export interface ExitFacts {
  /** The store failed (the result writer, or the bookkeeping after it). */
  readonly storeFailed: boolean;
  /** Every server stayed down past `--max-down`. */
  readonly serversDown: boolean;
  /** Stopped by Ctrl-C (or the caller's soft stop). */
  readonly interrupted: boolean;
  /**
   * The deadline (`--until`, `--for`) stopped the run with work left: prompts to send, or inputs
   * not all read. A deadline that came when nothing was left decides nothing. @default false
   */
  readonly deadlineReached?: boolean;
  /** Prompts failed, and prompts still to send, after the run. */
  readonly failed: number;
  readonly pending: number;
}

/** How a run ends: its exit code, the job's state, and which resume command (if any) to suggest. */
export interface ExitDecision {
  readonly exitCode: number;
  readonly jobState: 'done' | 'failed' | 'interrupted';
  /** `continue`: `batch resume`; `retry-failed`: `batch resume --retry-failed`; undefined: nothing left. */
  readonly resume: 'continue' | 'retry-failed' | undefined;
}

/**
 * The exit-code decision, pure: an environment failure (the store, every server down) comes first,
 * then an interruption (Ctrl-C), then a deadline that left work, then prompts that failed or were
 * left; else success. A job is `failed` only when nothing is left to send; anything else short of success can be continued.
 */
export function decideExit(facts: ExitFacts): ExitDecision {
  const exitCode =
    facts.storeFailed || facts.serversDown
      ? ExitCode.Environment
      : facts.interrupted
        ? ExitCode.Interrupted
        : facts.deadlineReached === true
          ? ExitCode.Deadline
          : facts.failed > 0 || facts.pending > 0
            ? ExitCode.PromptsFailed
            : ExitCode.Ok;
  const jobState = exitCode === ExitCode.Ok ? 'done' : exitCode === ExitCode.PromptsFailed && facts.pending === 0 ? 'failed' : 'interrupted';
  const resume = facts.pending > 0 || facts.interrupted || facts.deadlineReached === true ? 'continue' : facts.failed > 0 ? 'retry-failed' : undefined;
  return { exitCode, jobState, resume };
}
