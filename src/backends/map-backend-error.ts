import { BackendError, type BackendErrorCode, type ServerAnswer } from '../errors.js';
import type { ServerType } from './backend.js';
import { excerpt } from './check-completion-shape.js';
import { contextExceededMessage, contextOverflow } from './context-exceeded.js';
import { isModelNotFound } from './is-model-not-found.js';
import { parseRateLimitHeaders, rateLimitWaitMs } from './rate-limit-headers.js';
import { RateLimitedError } from './rate-limited-error.js';

/** Failures to open a connection at all: nothing listens, or nothing answers the SYN. */
const unreachableCodes = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Failures of a connection that was open: the same request sent again may well succeed. */
const brokenConnectionCodes = new Set([
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** A TLS handshake that failed: a certificate or an https URL for a plain-http server. Sending again cannot help. */
const tlsCode = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/;

/** What the transport was doing when it failed, as seen by the one request that failed. */
export interface TransportContext {
  /** The request's deadline, quoted in the timeout message. */
  readonly timeoutMs: number;
  /** Whether the request's own deadline fired. */
  readonly timedOut: boolean;
  /** Whether the caller aborted (`CompletionRequest.signal`). */
  readonly aborted: boolean;
  /** The endpoint's stall timeout, when one is set: undici's silence timeouts then mean STALLED. */
  readonly stallTimeoutMs?: number;
}

/** undici's silence timeouts, armed only by a stall timeout. */
const silenceCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

type Headers = Record<string, string | string[] | undefined>;

/** The first string `code` on the error or its causes (undici wraps Node's socket errors). */
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'ABORT_ERR') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The one place transport failures become BackendErrors. Connection problems, resets and
 * timeouts are retryable; a caller's abort is not, and neither is a failure that is no transport
 * problem at all (retrying a bug only repeats it).
 */
export function mapTransportError(error: unknown, url: string, context: TransportContext): BackendError {
  if (error instanceof BackendError) return error;
  if (context.aborted) return new BackendError('REQUEST_ABORTED', url, `request to ${url} was aborted`, { cause: error });
  if (context.timedOut) {
    return new BackendError(
      'REQUEST_TIMEOUT',
      url,
      `no answer from ${url} within ${context.timeoutMs} ms: the server may be overloaded or a slot hung (raise --timeout if answers are just long)`,
      { retryable: true, cause: error },
    );
  }
  const code = errorCode(error);
  const message = errorMessage(error);
  if (context.stallTimeoutMs !== undefined && code !== undefined && silenceCodes.has(code)) {
    return new BackendError(
      'STALLED',
      url,
      `${url} sent nothing for ${context.stallTimeoutMs} ms (--stall-timeout): a slot may have hung; raise --stall-timeout if answers are not streamed and take longer`,
      { retryable: true, cause: error },
    );
  }
  if (code !== undefined && unreachableCodes.has(code)) {
    return new BackendError('SERVER_UNREACHABLE', url, `cannot reach ${url} (${code}): check that the server is running and that --server is right`, {
      retryable: true,
      cause: error,
    });
  }
  if (code !== undefined && tlsCode.test(code)) {
    return new BackendError('SERVER_UNREACHABLE', url, `cannot open a TLS connection to ${url} (${code}: ${message}): check the URL's scheme (http or https) and the server's certificate`, {
      cause: error,
    });
  }
  if ((code !== undefined && brokenConnectionCodes.has(code)) || /other side closed/i.test(message)) {
    return new BackendError('CONNECTION_RESET', url, `connection to ${url} failed mid-request (${code ?? 'closed'}: ${message}); the server may have restarted or dropped the request`, {
      retryable: true,
      cause: error,
    });
  }
  return new BackendError('INTERNAL', url, `request to ${url} failed unexpectedly: ${code === undefined ? '' : `${code}: `}${message}; this is likely a bug in batch, please report it`, {
    cause: error,
  });
}

/** Longest server message quoted in an error: enough to read, short enough for a log line. */
const maxQuotedChars = 300;

/** The server's own error message from {"error":{"message"}}, {"error":"..."}, or plain text. */
export function serverMessage(text: string): string {
  let message = text.trim();
  if (message.startsWith('{')) {
    try {
      const parsed = JSON.parse(message) as { error?: unknown; message?: unknown; detail?: unknown };
      const inner = parsed.error;
      if (typeof inner === 'string') message = inner;
      else if (inner !== null && typeof inner === 'object' && typeof (inner as { message?: unknown }).message === 'string') {
        message = (inner as { message: string }).message;
      } else if (typeof parsed.message === 'string') message = parsed.message;
      else if (typeof parsed.detail === 'string') message = parsed.detail;
    } catch {
      // Not JSON after all: the text itself is the message.
    }
  }
  if (message === '') return '(empty body)';
  return message.length > maxQuotedChars ? `${message.slice(0, maxQuotedChars)}…` : message;
}

/** Milliseconds from a Retry-After header: seconds, or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The error code of an HTTP error answer, and whether the same request may succeed later. */
export interface HttpErrorClass {
  readonly code: BackendErrorCode;
  readonly retryable: boolean;
}

/**
 * The one decision from an error answer to a code: 429 and 5xx are retryable; a server's own
 * "model not found" (404, or 400 from llama-server's router) is MODEL_NOT_FOUND; llama-server's
 * "request exceeds the available context size" (400) is CONTEXT_EXCEEDED; 401/403 is
 * AUTH_FAILED; any other status is REQUEST_REJECTED and fails at once.
 */
export function classifyHttpError(statusCode: number, bodyText: string): HttpErrorClass {
  if (statusCode === 429) return { code: 'RATE_LIMITED', retryable: true };
  if (statusCode >= 500) return { code: 'SERVER_ERROR', retryable: true };
  if ((statusCode === 404 || statusCode === 400) && isModelNotFound(bodyText)) return { code: 'MODEL_NOT_FOUND', retryable: false };
  if (statusCode === 400 && contextOverflow(bodyText) !== undefined) return { code: 'CONTEXT_EXCEEDED', retryable: false };
  if (statusCode === 401 || statusCode === 403) return { code: 'AUTH_FAILED', retryable: false };
  return { code: 'REQUEST_REJECTED', retryable: false };
}

/** Where to look for the models a server serves: Ollama lists them at /api/tags, the others at /v1/models. */
function modelListHint(url: string, serverType: ServerType, model: string | undefined): string {
  if (serverType === 'ollama') {
    const pull = `\`ollama pull ${model ?? 'NAME'}\` fetches it`;
    return `\`ollama list\` on the server's machine lists the models it has (GET ${url}/api/tags), ${pull}`;
  }
  return `check the model name (GET ${url}/v1/models lists them)`;
}

/** The fix an error code points to, appended to the server's message. */
function fixFor(code: BackendErrorCode, url: string, serverType: ServerType, model: string | undefined): string {
  switch (code) {
    case 'MODEL_NOT_FOUND':
      return `; ${modelListHint(url, serverType, model)}`;
    case 'AUTH_FAILED':
      return '; check the API key (--api-key-env names the variable that holds it)';
    case 'RATE_LIMITED':
      return "; pass --rpm/--tpm with the server's limits, or lower --workers, if it keeps asking";
    case 'REQUEST_REJECTED':
      return "; check --server and the prompt's request body";
    default:
      return '';
  }
}

/** The error answer as the server sent it, when its body is a JSON object; never one made up. */
function serverAnswer(statusCode: number, headers: Headers, bodyText: string): ServerAnswer | undefined {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return undefined;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const id = headers['x-request-id'];
  return { statusCode, requestId: (Array.isArray(id) ? id[0] : id) ?? '', body: body as Record<string, unknown> };
}

/**
 * The one place HTTP error answers become BackendErrors (see `classifyHttpError`). `serverType`
 * picks the hint: Ollama lists its models at /api/tags, the others at /v1/models. The server's
 * own JSON body rides along unchanged in `response`, for the output.
 */
export function mapHttpError(
  statusCode: number,
  headers: Headers,
  bodyText: string,
  url: string,
  model: string | undefined,
  serverType: ServerType,
): BackendError {
  const { code, retryable } = classifyHttpError(statusCode, bodyText);
  const message = serverMessage(bodyText);
  const fix = fixFor(code, url, serverType, model);
  // A 429's x-ratelimit-reset-* say how long to wait when it sends no Retry-After.
  const rateLimit = statusCode === 429 ? parseRateLimitHeaders(headers) : undefined;
  const retryAfterMs = retryable ? (parseRetryAfter(headers['retry-after']) ?? rateLimitWaitMs(rateLimit)) : undefined;
  const response = serverAnswer(statusCode, headers, bodyText);
  if (code === 'MODEL_NOT_FOUND') {
    const named = model === undefined ? '(no model named in the request)' : `"${model}"`;
    return new BackendError(code, url, `${url} does not serve model ${named}: ${message}${fix}`, { statusCode, response });
  }
  if (code === 'CONTEXT_EXCEEDED') {
    return new BackendError(code, url, contextExceededMessage(url, contextOverflow(bodyText)!), { statusCode, response });
  }
  const status = statusCode === 429 ? '429 (too many requests)' : String(statusCode);
  const asked = retryAfterMs === undefined ? '' : ` (Retry-After: ${retryAfterMs} ms)`;
  if (statusCode === 429) {
    return new RateLimitedError(url, `${url} answered ${status}${asked}: ${message}${fix}`, rateLimit, { retryAfterMs, statusCode, response });
  }
  return new BackendError(code, url, `${url} answered ${status}${asked}: ${message}${fix}`, { retryable, retryAfterMs, statusCode, response });
}

/** OpenAI-style error `type`s a server may put in a mid-stream error, as the status they stand for. */
const statusOfType = new Map<string, number>([
  ['rate_limit_error', 429],
  ['authentication_error', 401],
  ['permission_error', 403],
  ['not_found_error', 404],
  ['NotFoundError', 404],
  ['invalid_request_error', 400],
  ['BadRequestError', 400],
  ['exceed_context_size_error', 400],
]);

/** The HTTP status a mid-stream error stands for: its numeric `code`, else its `type`, else 500. */
function streamErrorStatus(error: unknown): number {
  if (error === null || typeof error !== 'object') return 500;
  const { code, type } = error as { code?: unknown; type?: unknown };
  if (typeof code === 'number' && code >= 400 && code <= 599) return code;
  if (code === 'rate_limit_exceeded') return 429;
  if (code === 'model_not_found') return 404;
  return (typeof type === 'string' ? statusOfType.get(type) : undefined) ?? 500;
}

/**
 * A server's `{"error": …}` event in the middle of a stream (llama-server sends one when a slot
 * fails), classified by its content like an HTTP error answer; SERVER_ERROR when it says nothing
 * more. Streams come only from OpenAI-compatible servers, so a model hint names /v1/models. No
 * status code: the 200 the stream began with was no answer, and must not read as one in the output.
 */
export function mapStreamError(error: unknown, url: string): BackendError {
  const bodyText = JSON.stringify({ error });
  const { code, retryable } = classifyHttpError(streamErrorStatus(error), bodyText);
  if (code === 'CONTEXT_EXCEEDED') return new BackendError(code, url, contextExceededMessage(url, contextOverflow(bodyText)!));
  return new BackendError(code, url, `${url} reported an error mid-stream: ${serverMessage(bodyText)}${fixFor(code, url, 'openai', undefined)}`, {
    retryable,
  });
}

/**
 * Parses a 200 answer, or says what came instead of a JSON object (retryable: a proxy hiccup, a
 * cut body). No status code on the error: a 200 whose body is no answer must not be written as
 * `status_code: 200` in the output, where scripts take it for a success.
 */
export function parseJsonAnswer(text: string, url: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // Reported below with what was received.
  }
  throw new BackendError('ANSWER_NOT_JSON', url, `${url} answered 200 but not with a JSON object: received ${excerpt(text)}; check that --server points at a model server`, {
    retryable: true,
  });
}
