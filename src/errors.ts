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
  /** Interrupted (Ctrl-C / SIGTERM). The job is checkpointed and resumable. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Stable error codes. Users and tests match on these, never on messages.
 */
export type ErrorCode =
  | 'USAGE'
  | 'INTERNAL'
  | 'PROMPT_FILE_INVALID'
  | 'PROMPT_INVALID'
  | 'DUPLICATE_CUSTOM_ID'
  | 'NO_PROMPTS'
  | 'SERVER_UNREACHABLE'
  | 'SERVER_NOT_READY'
  | 'SERVER_HTTP_ERROR'
  | 'SERVER_CRASHED'
  | 'REQUEST_TIMEOUT'
  | 'REQUEST_ABORTED'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_INVALID'
  | 'MODEL_TOO_LARGE'
  | 'STORE_UNAVAILABLE'
  | 'STORE_WRITE_FAILED'
  | 'JOB_LOCKED'
  | 'JOB_NOT_FOUND'
  | 'INTERRUPTED';

export interface AppErrorOptions {
  /** Exit code the CLI uses when this error ends the command. @default ExitCode.Internal */
  readonly exitCode?: ExitCode;
  /** Whether sending the same request again may succeed (connect errors, 5xx, 429, timeouts). @default false */
  readonly retryable?: boolean;
  /** Server-requested delay before a retry (HTTP `Retry-After`), in milliseconds. */
  readonly retryAfterMs?: number;
  /** The underlying error. */
  readonly cause?: unknown;
}

/**
 * The one error base of `batch`. Messages say what failed, on what, the value seen and the fix.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.Internal;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Bad flags or arguments. */
export class UsageError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('USAGE', message, { exitCode: ExitCode.Usage, cause });
    this.name = 'UsageError';
  }
}

/** A prompt file or line that cannot be read. `location` is `file:line` or a file path. */
export class PromptError extends AppError {
  readonly location: string;
  constructor(
    code: 'PROMPT_FILE_INVALID' | 'PROMPT_INVALID' | 'DUPLICATE_CUSTOM_ID' | 'NO_PROMPTS',
    location: string,
    message: string,
  ) {
    super(code, `${location}: ${message}`, { exitCode: ExitCode.Usage });
    this.name = 'PromptError';
    this.location = location;
  }
}

/** A failure talking to a model server. `retryable` decides whether the scheduler tries again. */
export class BackendError extends AppError {
  /** HTTP status, when the server answered. */
  readonly statusCode: number | undefined;
  /** The server's URL (never including credentials). */
  readonly url: string;
  constructor(
    code: ErrorCode,
    url: string,
    message: string,
    options: AppErrorOptions & { readonly statusCode?: number } = {},
  ) {
    super(code, message, { exitCode: ExitCode.Environment, ...options });
    this.name = 'BackendError';
    this.url = url;
    this.statusCode = options.statusCode;
  }
}

/** The job database cannot be opened or written. */
export class StoreError extends AppError {
  constructor(code: 'STORE_UNAVAILABLE' | 'STORE_WRITE_FAILED' | 'JOB_LOCKED' | 'JOB_NOT_FOUND', message: string, cause?: unknown) {
    super(code, message, { exitCode: code === 'JOB_NOT_FOUND' || code === 'JOB_LOCKED' ? ExitCode.Usage : ExitCode.Environment, cause });
    this.name = 'StoreError';
  }
}

/** A managed model server or model file problem. */
export class ServerError extends AppError {
  constructor(code: 'SERVER_NOT_READY' | 'SERVER_CRASHED' | 'MODEL_INVALID' | 'MODEL_TOO_LARGE' | 'MODEL_NOT_FOUND', message: string, cause?: unknown) {
    super(code, message, { exitCode: ExitCode.Environment, cause });
    this.name = 'ServerError';
  }
}

/** Turns anything thrown into an AppError, keeping the original as `cause`. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AppError('INTERNAL', message, { cause: error });
}
