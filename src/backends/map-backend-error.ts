import { BackendError } from '../errors.js';

/** Failures to open a connection at all: nothing listens, or nothing answers the SYN. */
const unreachableCodes = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Failures of a connection that was open: the same request sent again may well succeed. */
const brokenConnectionCodes = new Set([
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

/** What the transport was doing when it failed, as seen by the one request that failed. */
export interface TransportContext {
  /** The request's deadline, quoted in the timeout message. */
  readonly timeoutMs: number;
  /** Whether the request's own deadline fired. */
  readonly timedOut: boolean;
  /** Whether the caller aborted (`CompletionRequest.signal`). */
  readonly aborted: boolean;
}

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
  if (code !== undefined && unreachableCodes.has(code)) {
    return new BackendError('SERVER_UNREACHABLE', url, `cannot reach ${url} (${code}): check that the server is running and that --server is right`, {
      retryable: true,
      cause: error,
    });
  }
  if ((code !== undefined && brokenConnectionCodes.has(code)) || /other side closed/i.test(message)) {
    return new BackendError('SERVER_HTTP_ERROR', url, `connection to ${url} failed mid-request (${code ?? 'closed'}: ${message}); the server may have restarted or dropped the request`, {
      retryable: true,
      cause: error,
    });
  }
  return new BackendError('SERVER_HTTP_ERROR', url, `request to ${url} failed: ${code === undefined ? '' : `${code}: `}${message}`, { cause: error });
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

/** A 404 about the model rather than the path: OpenAI's `model_not_found`, Ollama's "model 'x' not found". */
function isModelNotFound(bodyText: string): boolean {
  return /model/i.test(bodyText);
}

/**
 * The one place HTTP error answers become BackendErrors: 429 and 5xx are retryable (with the
 * server's Retry-After), a 404 about the model is MODEL_NOT_FOUND, other 4xx fail at once.
 */
export function mapHttpError(statusCode: number, headers: Headers, bodyText: string, url: string, model: string | undefined): BackendError {
  const message = serverMessage(bodyText);
  if (statusCode === 429) {
    return new BackendError('SERVER_HTTP_ERROR', url, `${url} answered 429 (too many requests): ${message}; retrying after the delay it asks for`, {
      retryable: true,
      retryAfterMs: parseRetryAfter(headers['retry-after']),
      statusCode,
    });
  }
  if (statusCode >= 500) {
    return new BackendError('SERVER_HTTP_ERROR', url, `${url} answered ${statusCode}: ${message}`, {
      retryable: true,
      retryAfterMs: parseRetryAfter(headers['retry-after']),
      statusCode,
    });
  }
  if (statusCode === 404 && isModelNotFound(bodyText)) {
    const named = model === undefined ? '(no model named in the request)' : `"${model}"`;
    return new BackendError('MODEL_NOT_FOUND', url, `${url} does not serve model ${named}: ${message}; check the model name (GET ${url}/v1/models lists them)`, {
      statusCode,
    });
  }
  if (statusCode === 401 || statusCode === 403) {
    return new BackendError('SERVER_HTTP_ERROR', url, `${url} answered ${statusCode}: ${message}; check the API key (--api-key-env names the variable that holds it)`, {
      statusCode,
    });
  }
  return new BackendError('SERVER_HTTP_ERROR', url, `${url} answered ${statusCode}: ${message}`, { statusCode });
}

/** Parses a 200 answer, or says what came instead of a JSON object (retryable: a proxy hiccup, a cut body). */
export function parseJsonAnswer(text: string, url: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // Reported below with what was received.
  }
  const received = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return throwNotJson(url, received);
}

function throwNotJson(url: string, received: string): never {
  throw new BackendError('SERVER_HTTP_ERROR', url, `${url} answered 200 but not with a JSON object: received ${JSON.stringify(received)}; check that --server points at a model server`, {
    retryable: true,
    statusCode: 200,
  });
}
