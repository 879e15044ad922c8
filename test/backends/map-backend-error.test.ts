import { describe, expect, it } from 'vitest';
import { errors } from 'undici';
import { BackendError, ExitCode } from '../../src/errors.js';
import { classifyHttpError, mapHttpError, mapStreamError, mapTransportError, parseJsonAnswer, parseRetryAfter, serverMessage } from '../../src/backends/map-backend-error.js';

const url = 'http://127.0.0.1:8080';
const plain = { timeoutMs: 1000, timedOut: false, aborted: false };

function nodeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('mapTransportError', () => {
  it('maps a refused connection to a retryable SERVER_UNREACHABLE naming the URL and the fix', () => {
    const error = mapTransportError(nodeError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:8080'), url, plain);
    expect(error).toBeInstanceOf(BackendError);
    expect(error.code).toBe('SERVER_UNREACHABLE');
    expect(error.retryable).toBe(true);
    expect(error.exitCode).toBe(ExitCode.Environment);
    expect(error.url).toBe(url);
    expect(error.statusCode).toBeUndefined();
    expect(error.message).toBe(`cannot reach ${url} (ECONNREFUSED): check that the server is running and that --server is right`);
  });

  it('finds the code on a wrapped cause', () => {
    const wrapped = new TypeError('fetch failed', { cause: nodeError('ECONNREFUSED', 'refused') });
    expect(mapTransportError(wrapped, url, plain).code).toBe('SERVER_UNREACHABLE');
  });

  it('maps a connect timeout to a retryable SERVER_UNREACHABLE', () => {
    const error = mapTransportError(new errors.ConnectTimeoutError(), url, plain);
    expect(error.code).toBe('SERVER_UNREACHABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('UND_ERR_CONNECT_TIMEOUT');
  });

  it.each([
    ['UND_ERR_SOCKET', new errors.SocketError('other side closed')],
    ['UND_ERR_HEADERS_TIMEOUT', new errors.HeadersTimeoutError()],
    ['UND_ERR_BODY_TIMEOUT', new errors.BodyTimeoutError()],
    ['ECONNRESET', nodeError('ECONNRESET', 'read ECONNRESET')],
    ['EPIPE', nodeError('EPIPE', 'write EPIPE')],
    ['UND_ERR_CLOSED', new errors.ClientClosedError()],
  ])('maps %s to a retryable CONNECTION_RESET', (code, cause) => {
    const error = mapTransportError(cause, url, plain);
    expect(error.code).toBe('CONNECTION_RESET');
    expect(error.exitCode).toBe(ExitCode.Environment);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(code);
    expect(error.message).toContain(url);
    expect(error.cause).toBe(cause);
  });

  it("treats 'other side closed' without a code as a broken connection", () => {
    const error = mapTransportError(new Error('other side closed'), url, plain);
    expect(error.retryable).toBe(true);
    expect(error.code).toBe('CONNECTION_RESET');
  });

  it('maps the request deadline to a retryable REQUEST_TIMEOUT quoting the deadline', () => {
    const error = mapTransportError(new errors.RequestAbortedError(), url, { timeoutMs: 2500, timedOut: true, aborted: false });
    expect(error.code).toBe('REQUEST_TIMEOUT');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`no answer from ${url} within 2500 ms`);
  });

  it("maps the caller's abort to a permanent REQUEST_ABORTED, even when the deadline also fired", () => {
    const error = mapTransportError(new errors.RequestAbortedError(), url, { timeoutMs: 2500, timedOut: true, aborted: true });
    expect(error.code).toBe('REQUEST_ABORTED');
    expect(error.retryable).toBe(false);
  });

  it('reports a failure that is no transport problem as INTERNAL (exit 1), not retried', () => {
    const error = mapTransportError(new TypeError('x is not a function'), url, plain);
    expect(error.code).toBe('INTERNAL');
    expect(error.exitCode).toBe(ExitCode.Internal);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('x is not a function');
  });

  it('maps a failed TLS handshake to a permanent SERVER_UNREACHABLE naming the scheme and certificate', () => {
    const error = mapTransportError(nodeError('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'), url, plain);
    expect(error.code).toBe('SERVER_UNREACHABLE');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("check the URL's scheme (http or https) and the server's certificate");
  });

  it('maps a body cut short of its Content-Length to a retryable CONNECTION_RESET', () => {
    const error = mapTransportError(new errors.ResponseContentLengthMismatchError(), url, plain);
    expect(error.code).toBe('CONNECTION_RESET');
    expect(error.retryable).toBe(true);
  });

  it('ends the CLI with exit 130 on REQUEST_ABORTED: an abort only comes from an interrupt', () => {
    const error = mapTransportError(new errors.RequestAbortedError(), url, { timeoutMs: 2500, timedOut: false, aborted: true });
    expect(error.exitCode).toBe(ExitCode.Interrupted);
  });

  it('passes a BackendError through unchanged', () => {
    const original = new BackendError('MODEL_NOT_FOUND', url, 'no such model');
    expect(mapTransportError(original, url, plain)).toBe(original);
  });
});

describe('mapHttpError', () => {
  it('maps 429 to a retryable RATE_LIMITED with Retry-After in seconds, promising no retry in its message', () => {
    const error = mapHttpError(429, { 'retry-after': '3' }, '{"error":{"message":"slow down"}}', url, 'm', 'openai');
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(3000);
    expect(error.statusCode).toBe(429);
    expect(error.exitCode).toBe(ExitCode.Environment);
    expect(error.message).toBe(`${url} answered 429 (too many requests) (Retry-After: 3000 ms): slow down; pass --rpm/--tpm with the server's limits, or lower --workers, if it keeps asking`);
    // Stored as the prompt's error after the last retry, when no retry follows.
    expect(error.message).not.toMatch(/retrying/i);
  });

  it('maps 429 without Retry-After to retryable with no delay', () => {
    const error = mapHttpError(429, {}, '', url, 'm', 'openai');
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBeUndefined();
  });

  it.each([500, 502, 503, 504])('maps %i to a retryable SERVER_ERROR with the server message', (status) => {
    const error = mapHttpError(status, { 'retry-after': '2' }, '{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}', url, 'm', 'llama-server');
    expect(error.code).toBe('SERVER_ERROR');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(2000);
    expect(error.statusCode).toBe(status);
    expect(error.exitCode).toBe(ExitCode.Environment);
    expect(error.message).toBe(`${url} answered ${status} (Retry-After: 2000 ms): Loading model`);
  });

  it.each([401, 403])('maps %i to a permanent AUTH_FAILED naming --api-key-env', (status) => {
    const error = mapHttpError(status, {}, '{"error":{"message":"Invalid API Key","type":"authentication_error"}}', url, 'm', 'openai');
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.statusCode).toBe(status);
    expect(error.message).toBe(`${url} answered ${status}: Invalid API Key; check the API key (--api-key-env names the variable that holds it)`);
  });

  it.each([400, 405, 413, 422])('maps %i to a permanent REQUEST_REJECTED', (status) => {
    const error = mapHttpError(status, { 'retry-after': '5' }, '{"error":"bad request body"}', url, 'm', 'openai');
    expect(error.code).toBe('REQUEST_REJECTED');
    expect(error.retryable).toBe(false);
    expect(error.retryAfterMs).toBeUndefined();
    expect(error.statusCode).toBe(status);
    expect(error.message).toBe(`${url} answered ${status}: bad request body; check --server and the prompt's request body`);
  });

  it('maps a 404 HTML page to REQUEST_REJECTED, not MODEL_NOT_FOUND', () => {
    const error = mapHttpError(404, {}, '404 page not found', url, undefined, 'openai');
    expect(error.code).toBe('REQUEST_REJECTED');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(`${url} answered 404: 404 page not found; check --server and the prompt's request body`);
  });

  it.each([
    ['a path error that mentions a model', '{"error":"path /v1/foo not found (model routes live under /v1)"}'],
    ['an HTML page that mentions a model', '<html><body>404: no model route here</body></html>'],
    ['an OpenAI-style error about another resource', '{"error":{"message":"model field is fine, but the file was not found","type":"invalid_request_error","code":"file_not_found"}}'],
    ['a NotFoundError about something else', '{"object":"error","type":"NotFoundError","message":"route /v1/models/x not found","code":404}'],
  ])('maps a 404 with %s to REQUEST_REJECTED', (_, body) => {
    const error = mapHttpError(404, {}, body, url, 'llama9', 'openai');
    expect(error.code).toBe('REQUEST_REJECTED');
    expect(error.retryable).toBe(false);
  });

  it.each([
    ['OpenAI', 404, '{"error":{"message":"The model `gpt-5` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}', 'The model `gpt-5` does not exist or you do not have access to it.'],
    ['vLLM', 404, '{"object":"error","message":"The model `gpt-5` does not exist.","type":"NotFoundError","param":null,"code":404}', 'The model `gpt-5` does not exist.'],
    ['vLLM (error object)', 404, '{"error":{"message":"The model `gpt-5` does not exist.","type":"NotFoundError","param":"model","code":404}}', 'The model `gpt-5` does not exist.'],
    ['llama-server router', 400, '{"error":{"code":400,"message":"model \'gpt-5\' not found","type":"invalid_request_error"}}', "model 'gpt-5' not found"],
  ])("maps %s's model-not-found answer to MODEL_NOT_FOUND naming GET /v1/models", (_, status, body, quoted) => {
    const error = mapHttpError(status, {}, body, url, 'gpt-5', 'openai');
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.retryable).toBe(false);
    expect(error.statusCode).toBe(status);
    expect(error.exitCode).toBe(ExitCode.Environment);
    expect(error.message).toBe(`${url} does not serve model "gpt-5": ${quoted}; check the model name (GET ${url}/v1/models lists them)`);
  });

  it.each([
    ['"model \'llama9\' not found"', '{"error":"model \'llama9\' not found"}'],
    ['"model \\"llama9\\" not found, try pulling it first"', '{"error":"model \\"llama9\\" not found, try pulling it first"}'],
  ])("maps Ollama's %s to MODEL_NOT_FOUND whose hint names `ollama list` and `ollama pull`", (_, body) => {
    const error = mapHttpError(404, {}, body, url, 'llama9', 'ollama');
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.message).toContain('llama9');
    expect(error.message).toContain(`\`ollama list\` on the server's machine lists the models it has (GET ${url}/api/tags), \`ollama pull llama9\` fetches it`);
    expect(error.message).not.toContain('/v1/models');
  });

  it("names llama-server's /v1/models in the hint of a llama-server", () => {
    const error = mapHttpError(404, {}, '{"error":{"code":"model_not_found","message":"no"}}', url, undefined, 'llama-server');
    expect(error.message).toBe(`${url} does not serve model (no model named in the request): no; check the model name (GET ${url}/v1/models lists them)`);
  });

  it('does not take a model-not-found body for MODEL_NOT_FOUND on a status that cannot mean it', () => {
    expect(mapHttpError(500, {}, '{"error":{"code":"model_not_found","message":"x"}}', url, 'm', 'openai').code).toBe('SERVER_ERROR');
    expect(mapHttpError(403, {}, '{"error":{"code":"model_not_found","message":"x"}}', url, 'm', 'openai').code).toBe('AUTH_FAILED');
  });
});

describe('classifyHttpError', () => {
  it.each([
    [429, '', 'RATE_LIMITED', true],
    [500, '', 'SERVER_ERROR', true],
    [599, '', 'SERVER_ERROR', true],
    [401, '', 'AUTH_FAILED', false],
    [403, '', 'AUTH_FAILED', false],
    [404, '', 'REQUEST_REJECTED', false],
    [400, '', 'REQUEST_REJECTED', false],
    [301, '', 'REQUEST_REJECTED', false],
    [404, '{"error":{"code":"model_not_found"}}', 'MODEL_NOT_FOUND', false],
  ] as const)('maps %i %s to %s (retryable: %s)', (status, body, code, retryable) => {
    expect(classifyHttpError(status, body)).toEqual({ code, retryable });
  });
});

describe('mapStreamError', () => {
  it("maps llama-server's mid-stream server_error to a retryable SERVER_ERROR quoting its message", () => {
    const error = mapStreamError({ code: 500, message: 'slot 0 failed to decode', type: 'server_error' }, url);
    expect(error.code).toBe('SERVER_ERROR');
    expect(error.retryable).toBe(true);
    // The stream's 200 was no answer: a status would be written to the output as a success.
    expect(error.statusCode).toBeUndefined();
    expect(error.response).toBeUndefined();
    expect(error.message).toBe(`${url} reported an error mid-stream: slot 0 failed to decode`);
  });

  it('maps an error event that says nothing more to SERVER_ERROR', () => {
    expect(mapStreamError('boom', url)).toMatchObject({ code: 'SERVER_ERROR', retryable: true });
    expect(mapStreamError({}, url)).toMatchObject({ code: 'SERVER_ERROR', retryable: true });
  });

  it.each([
    [{ code: 400, message: 'the request exceeds the available context size', type: 'exceed_context_size_error' }, 'CONTEXT_EXCEEDED', false],
    [{ message: 'context too long', type: 'invalid_request_error' }, 'REQUEST_REJECTED', false],
    [{ message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' }, 'RATE_LIMITED', true],
    [{ message: 'Invalid API Key', type: 'authentication_error' }, 'AUTH_FAILED', false],
    [{ message: 'The model `x` does not exist', type: 'invalid_request_error', code: 'model_not_found' }, 'MODEL_NOT_FOUND', false],
  ] as const)('picks the code from the content of %j', (event, code, retryable) => {
    const error = mapStreamError(event, url);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
  });
});

describe('serverMessage', () => {
  it('reads {"error":{"message"}}, {"error":"..."}, {"message"} and plain text', () => {
    expect(serverMessage('{"error":{"message":"a"}}')).toBe('a');
    expect(serverMessage('{"error":"b"}')).toBe('b');
    expect(serverMessage('{"message":"c"}')).toBe('c');
    expect(serverMessage('  Bad Gateway \n')).toBe('Bad Gateway');
    expect(serverMessage('')).toBe('(empty body)');
  });

  it('truncates long messages to about 300 characters', () => {
    const message = serverMessage('x'.repeat(5000));
    expect(message.length).toBe(301);
    expect(message.endsWith('…')).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(['2', '9'], now)).toBe(2000);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('parseJsonAnswer', () => {
  it('returns the object of a JSON 200', () => {
    expect(parseJsonAnswer('{"id":"x"}', url)).toEqual({ id: 'x' });
  });

  it.each(['<html>proxy error</html>', '[1,2]', '{"cut":'])('rejects %s with a retryable error saying what was received', (text) => {
    let caught: unknown;
    try {
      parseJsonAnswer(text, url);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BackendError);
    const error = caught as BackendError;
    expect(error.code).toBe('ANSWER_NOT_JSON');
    expect(error.retryable).toBe(true);
    expect(error.statusCode).toBeUndefined();
    expect(error.response).toBeUndefined();
    expect(error.message).toContain(JSON.stringify(text));
  });
});
