import { describe, expect, it } from 'vitest';
import { errors } from 'undici';
import { BackendError, ExitCode } from '../../src/errors.js';
import { mapHttpError, mapTransportError, parseJsonAnswer, parseRetryAfter, serverMessage } from '../../src/backends/map-backend-error.js';

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
  ])('maps %s to a retryable SERVER_HTTP_ERROR', (code, cause) => {
    const error = mapTransportError(cause, url, plain);
    expect(error.code).toBe('SERVER_HTTP_ERROR');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(code);
    expect(error.message).toContain(url);
    expect(error.cause).toBe(cause);
  });

  it("treats 'other side closed' without a code as a broken connection", () => {
    const error = mapTransportError(new Error('other side closed'), url, plain);
    expect(error.retryable).toBe(true);
    expect(error.code).toBe('SERVER_HTTP_ERROR');
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

  it('does not retry a failure that is no transport problem', () => {
    const error = mapTransportError(new TypeError('x is not a function'), url, plain);
    expect(error.code).toBe('SERVER_HTTP_ERROR');
    expect(error.retryable).toBe(false);
  });

  it('passes a BackendError through unchanged', () => {
    const original = new BackendError('MODEL_NOT_FOUND', url, 'no such model');
    expect(mapTransportError(original, url, plain)).toBe(original);
  });
});

describe('mapHttpError', () => {
  it('maps 429 to retryable with Retry-After in seconds', () => {
    const error = mapHttpError(429, { 'retry-after': '3' }, '{"error":{"message":"slow down"}}', url, 'm');
    expect(error.code).toBe('SERVER_HTTP_ERROR');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(3000);
    expect(error.statusCode).toBe(429);
    expect(error.message).toContain('slow down');
  });

  it('maps 429 without Retry-After to retryable with no delay', () => {
    const error = mapHttpError(429, {}, '', url, 'm');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBeUndefined();
  });

  it.each([500, 502, 503, 504])('maps %i to a retryable SERVER_HTTP_ERROR with the server message', (status) => {
    const error = mapHttpError(status, {}, '{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}', url, 'm');
    expect(error.code).toBe('SERVER_HTTP_ERROR');
    expect(error.retryable).toBe(true);
    expect(error.statusCode).toBe(status);
    expect(error.exitCode).toBe(ExitCode.Environment);
    expect(error.message).toBe(`${url} answered ${status}: Loading model`);
  });

  it('maps a 404 about the model to MODEL_NOT_FOUND quoting the server and naming the fix', () => {
    const body = '{"error":{"message":"The model `gpt-5` does not exist","type":"invalid_request_error","code":"model_not_found"}}';
    const error = mapHttpError(404, {}, body, url, 'gpt-5');
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.retryable).toBe(false);
    expect(error.statusCode).toBe(404);
    expect(error.message).toContain('"gpt-5"');
    expect(error.message).toContain('The model `gpt-5` does not exist');
    expect(error.message).toContain(`check the model name (GET ${url}/v1/models lists them)`);
  });

  it("maps Ollama's 404 string error to MODEL_NOT_FOUND", () => {
    const error = mapHttpError(404, {}, '{"error":"model \'llama9\' not found, try pulling it first"}', url, 'llama9');
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.message).toContain("model 'llama9' not found");
  });

  it('maps a 404 about a path to a permanent SERVER_HTTP_ERROR', () => {
    const error = mapHttpError(404, {}, '404 page not found', url, undefined);
    expect(error.code).toBe('SERVER_HTTP_ERROR');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(`${url} answered 404: 404 page not found`);
  });

  it.each([400, 401, 403, 422])('maps %i to a permanent SERVER_HTTP_ERROR', (status) => {
    const error = mapHttpError(status, {}, '{"error":"bad request body"}', url, 'm');
    expect(error.code).toBe('SERVER_HTTP_ERROR');
    expect(error.retryable).toBe(false);
    expect(error.statusCode).toBe(status);
    expect(error.message).toContain('bad request body');
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
    expect(error.retryable).toBe(true);
    expect(error.statusCode).toBe(200);
    expect(error.message).toContain(JSON.stringify(text));
  });
});
