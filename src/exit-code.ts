/**
 * Exit codes of the `batch` CLI. They are part of the public interface (README "Exit codes"):
 * scripts match on them, so a value never changes meaning.
 */
export const ExitCode = {
  /** Every prompt finished successfully. */
  Ok: 0,
  /** Unexpected internal error (a bug in `batch`). */
  Internal: 1,
  /** Usage or input error: bad flags, unreadable prompt files, duplicate custom_ids. */
  Usage: 2,
  /** Environment error: a server or the job database is unavailable. */
  Environment: 3,
  /** The batch finished, but some prompts failed (see `batch status` / `batch export --failed`). */
  PromptsFailed: 4,
  /**
   * `batch export` of a job (or a shard) with prompts not finished: nothing was written;
   * `--partial` writes the finished ones.
   */
  Incomplete: 5,
  /**
   * The deadline (`--until`, `--for`) came with prompts left: sending stopped, in-flight prompts
   * finished within `--grace`, everything is checkpointed and `batch resume` continues.
   */
  Deadline: 6,
  /** Interrupted (Ctrl-C / SIGTERM). The job is checkpointed and resumable. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
