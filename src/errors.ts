import { ExitCode } from './exit-code.js';

// In a file of its own so that `batch --help` can start without the error table below.
export { ExitCode } from './exit-code.js';

/** What one stable error code means to a user: the exit code it ends the CLI with, and why. */
export interface ErrorCodeInfo {
  /** Exit code the CLI uses when an error with this code ends the command. */
  readonly exitCode: ExitCode;
  /** One line for README's table of error codes (a test keeps the two equal). */
  readonly description: string;
}

/**
 * Every stable error code, the one place its exit code is decided. Users and tests match on
 * codes, never on messages, so a code is never renamed or reused for another meaning.
 */
export const errorCodes = {
  USAGE: { exitCode: ExitCode.Usage, description: 'bad flags, arguments or options' },
  INTERNAL: { exitCode: ExitCode.Internal, description: 'an unexpected failure: a bug in `batch` (please report it)' },
  PROMPT_FILE_INVALID: { exitCode: ExitCode.Usage, description: 'an input path that does not exist or cannot be read' },
  PROMPT_INVALID: { exitCode: ExitCode.Usage, description: 'a prompt line or file that is not a valid prompt' },
  DUPLICATE_CUSTOM_ID: { exitCode: ExitCode.Usage, description: 'two prompts share one custom_id' },
  NO_PROMPTS: { exitCode: ExitCode.Usage, description: 'the inputs hold no prompts' },
  DUPLICATE_INPUT: { exitCode: ExitCode.Usage, description: 'one file given twice as input (twice by name, or also through its folder or a glob)' },
  SERVER_UNREACHABLE: { exitCode: ExitCode.Environment, description: 'nothing answers at the server URL (refused, unknown host, connect timeout; retried), or its TLS handshake fails' },
  SERVER_UNRECOGNISED: { exitCode: ExitCode.Environment, description: 'the server answers, but not as llama-server, Ollama or an OpenAI-compatible server' },
  SERVER_NOT_READY: { exitCode: ExitCode.Environment, description: 'a managed server did not start or did not become ready in time' },
  OUTPUT_WRITE_FAILED: { exitCode: ExitCode.Environment, description: 'standard output could not be written (a full disk, a device error); the job database keeps everything' },
  LLAMA_SERVER_BUILD_FAILED: { exitCode: ExitCode.Environment, description: '`batch setup llama-server` could not build llama-server; the message names the step and the log' },
  SERVER_CRASHED: { exitCode: ExitCode.Environment, description: 'a managed server exited while it was in use' },
  CONNECTION_RESET: { exitCode: ExitCode.Environment, description: 'the connection broke mid-request (reset, EPIPE, socket closed by the server); retried' },
  REQUEST_TIMEOUT: { exitCode: ExitCode.Environment, description: 'no answer within --timeout; retried' },
  REQUEST_ABORTED: { exitCode: ExitCode.Interrupted, description: 'a request was cancelled because `batch` was interrupted; the prompt stays pending' },
  RATE_LIMITED: { exitCode: ExitCode.Environment, description: 'the server answered 429 (too many requests); retried, after its Retry-After when it sends one' },
  AUTH_FAILED: { exitCode: ExitCode.Environment, description: 'the server refused the API key (401 or 403); check the variable named by --api-key-env' },
  SERVER_ERROR: { exitCode: ExitCode.Environment, description: 'the server answered 5xx or reported an error mid-stream; retried' },
  ANSWER_NOT_JSON: { exitCode: ExitCode.Environment, description: 'the server answered 200 with a body, or streamed an event, that is not JSON; retried' },
  ANSWER_INVALID_SHAPE: { exitCode: ExitCode.Environment, description: 'the server answered 200 with JSON that is no completion (no `choices`, no message or text); retried' },
  ANSWER_NO_CONTENT: { exitCode: ExitCode.Environment, description: 'the server answered 200 with a chat message whose `content` is null or missing and that calls no tool: no answer; retried' },
  CONTEXT_EXCEEDED: { exitCode: ExitCode.Environment, description: "the prompt is longer than the server's context (llama-server's 400); not retried: raise --ctx or shorten the prompt" },
  REQUEST_REJECTED: { exitCode: ExitCode.Environment, description: 'the server refused the request with another 4xx (bad request, unknown path); not retried' },
  REQUEST_OVER_TPM: { exitCode: ExitCode.Usage, description: "a prompt's estimated tokens are more than --tpm allows in a minute; not sent: raise --tpm or shorten the prompt" },
  MODEL_NOT_FOUND: { exitCode: ExitCode.Environment, description: 'the model named is not served: the server says so, or no --model has that name' },
  MODEL_FILE_NOT_FOUND: { exitCode: ExitCode.Usage, description: 'a --model path that does not exist' },
  MODEL_INVALID: { exitCode: ExitCode.Environment, description: 'a model file that is not a GGUF model llama.cpp can load' },
  MODEL_TOO_LARGE: { exitCode: ExitCode.Environment, description: 'a model that does not fit the memory budget' },
  MODEL_CHANGED: { exitCode: ExitCode.Usage, description: 'a `--model` file is another model than the one that answered the job\'s earlier prompts (its size or content changed); put it back, pass --accept-model-change, or start a new job' },
  STORE_UNAVAILABLE: { exitCode: ExitCode.Environment, description: 'the job database cannot be opened, or was opened read-only' },
  STORE_WRITE_FAILED: { exitCode: ExitCode.Environment, description: 'a write to the job database or an output file failed (a full disk, /dev/full); committed results are safe' },
  JOB_LOCKED: { exitCode: ExitCode.Usage, description: 'another `batch` process is running the job' },
  JOB_INPUTS_CHANGED: { exitCode: ExitCode.Usage, description: 'a run names a job (--job) that read other inputs; pass --replace-inputs or another --job' },
  JOB_NOT_FOUND: { exitCode: ExitCode.Usage, description: 'no such job in the job database; `batch jobs` lists them' },
  JOB_EMPTY: { exitCode: ExitCode.Usage, description: '`batch report` on a job that holds no prompts (and no bench) yet: nothing to report' },
  INTERRUPTED: { exitCode: ExitCode.Interrupted, description: 'stopped by Ctrl-C or SIGTERM; the job is checkpointed and `batch resume` continues it' },
  ANSWER_INVALID: { exitCode: ExitCode.Environment, description: "the answer is not JSON, or does not match the prompt's JSON Schema (--json-schema, response_format); sent again --json-retries times" },
  STALLED: { exitCode: ExitCode.Environment, description: 'no byte of the answer arrived within --stall-timeout (a hung slot); retried on another server' },
  ALL_SERVERS_DOWN: { exitCode: ExitCode.Environment, description: 'every server that serves the prompts stayed down for --max-down; the job is checkpointed and `batch resume` continues it' },
  EXPORT_INCOMPLETE: { exitCode: ExitCode.Incomplete, description: '`batch export` of a job, or of a shard of it, with prompts not finished (or inputs not all read): nothing written; `--partial` writes the finished prompts' },
  DAEMON_START_FAILED: { exitCode: ExitCode.Environment, description: '`batch up` could not start the daemon (its port taken, a model that is not there); the message shows the end of its log' },
  SHARDS_MISMATCHED: { exitCode: ExitCode.Usage, description: '`batch export` was given databases that are not every shard of one split, once each (another N, a shard missing or twice, inputs of other content)' },
} as const satisfies Record<string, ErrorCodeInfo>;

/** A stable error code: a key of `errorCodes`. */
export type ErrorCode = keyof typeof errorCodes;

export interface AppErrorOptions {
  /** Whether sending the same request again may succeed (connect errors, 5xx, 429, timeouts). @default false */
  readonly retryable?: boolean;
  /** Server-requested delay before a retry (HTTP `Retry-After`), in milliseconds. */
  readonly retryAfterMs?: number;
  /** The underlying error. */
  readonly cause?: unknown;
}

/**
 * The one error base of `batch`. Messages say what failed, on what, the value seen and the fix.
 * The exit code comes from `errorCodes`, so one code always ends the CLI the same way.
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
    this.exitCode = errorCodes[code].exitCode;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Bad flags or arguments. */
export class UsageError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('USAGE', message, { cause });
    this.name = 'UsageError';
  }
}

/** A prompt file or line that cannot be read. `location` is `file:line` or a file path. */
export class PromptError extends AppError {
  readonly location: string;
  constructor(
    code: 'PROMPT_FILE_INVALID' | 'PROMPT_INVALID' | 'DUPLICATE_CUSTOM_ID' | 'DUPLICATE_INPUT' | 'NO_PROMPTS',
    location: string,
    message: string,
  ) {
    super(code, `${location}: ${message}`);
    this.name = 'PromptError';
    this.location = location;
  }
}

/** The codes a request to a model server, or the detection of its flavour, fails with. */
export type BackendErrorCode =
  | 'SERVER_UNREACHABLE'
  | 'SERVER_UNRECOGNISED'
  | 'CONNECTION_RESET'
  | 'REQUEST_TIMEOUT'
  | 'STALLED'
  | 'REQUEST_ABORTED'
  | 'RATE_LIMITED'
  | 'AUTH_FAILED'
  | 'SERVER_ERROR'
  | 'ANSWER_NOT_JSON'
  | 'ANSWER_INVALID_SHAPE'
  | 'ANSWER_NO_CONTENT'
  | 'CONTEXT_EXCEEDED'
  | 'REQUEST_REJECTED'
  | 'REQUEST_OVER_TPM'
  | 'MODEL_NOT_FOUND'
  | 'ANSWER_INVALID'
  | 'INTERNAL';

/** An error answer exactly as the server sent it, for the output's `response`. */
export interface ServerAnswer {
  readonly statusCode: number;
  /** The server's `x-request-id`, else empty. */
  readonly requestId: string;
  /** The server's own JSON body, unchanged. */
  readonly body: Readonly<Record<string, unknown>>;
}

/** A failure talking to a model server. `retryable` decides whether the scheduler tries again. */
export class BackendError extends AppError {
  declare readonly code: BackendErrorCode;
  /** HTTP status, when the server answered. */
  readonly statusCode: number | undefined;
  /**
   * The server's own error answer (a 4xx/5xx with a JSON object body), kept so the output holds
   * what the server said; undefined when there was no HTTP answer or its body was no JSON object.
   * `batch` never makes one up.
   */
  readonly response: ServerAnswer | undefined;
  /** The server's URL (never including credentials). */
  readonly url: string;
  constructor(
    code: BackendErrorCode,
    url: string,
    message: string,
    options: AppErrorOptions & { readonly statusCode?: number; readonly response?: ServerAnswer } = {},
  ) {
    super(code, message, options);
    this.name = 'BackendError';
    this.url = url;
    this.statusCode = options.statusCode;
    this.response = options.response;
  }
}

/** The job database cannot be opened or written. */
export class StoreError extends AppError {
  constructor(code: 'STORE_UNAVAILABLE' | 'STORE_WRITE_FAILED' | 'JOB_LOCKED' | 'JOB_NOT_FOUND', message: string, cause?: unknown) {
    super(code, message, { cause });
    this.name = 'StoreError';
  }
}

/** A managed model server or model file problem. */
export class ServerError extends AppError {
  constructor(
    code: 'SERVER_NOT_READY' | 'SERVER_CRASHED' | 'MODEL_INVALID' | 'MODEL_TOO_LARGE' | 'MODEL_NOT_FOUND' | 'MODEL_FILE_NOT_FOUND',
    message: string,
    cause?: unknown,
  ) {
    super(code, message, { cause });
    this.name = 'ServerError';
  }
}

/** Turns anything thrown into an AppError, keeping the original as `cause`. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AppError('INTERNAL', message, { cause: error });
}
