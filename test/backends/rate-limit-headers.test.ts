import { afterEach, describe, expect, it } from 'vitest';
import { mapHttpError } from '../../src/backends/map-backend-error.js';
import { OpenAiBackend } from '../../src/backends/openai-backend.js';
import { parseRateLimitHeaders, parseResetDuration, rateLimitWaitMs } from '../../src/backends/rate-limit-headers.js';
import { RateLimitedError } from '../../src/backends/rate-limited-error.js';
import { json, startRecordingServer, type RecordingServer } from './recording-server.js';

const url = 'http://api.example:443';

describe('parseResetDuration', () => {
  it.each([
    ['1s', 1000],
    ['6m0s', 360_000],
    ['20ms', 20],
    ['1h2m3.5s', 3_723_500],
    ['0.5s', 500],
    ['17', 17_000],
    ['2.5', 2500],
    ['150us', 1],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseResetDuration(text)).toBe(ms);
  });

  it.each(['', ' ', 'soon', '1 s', '1x', '-1s', 's'])('refuses %j', (text) => {
    expect(parseResetDuration(text)).toBeUndefined();
  });
});

describe('parseRateLimitHeaders', () => {
  it("reads OpenAI's four headers", () => {
    expect(
      parseRateLimitHeaders({
        'x-ratelimit-limit-requests': '60',
        'x-ratelimit-remaining-requests': '59',
        'x-ratelimit-reset-requests': '1s',
        'x-ratelimit-remaining-tokens': '149984',
        'x-ratelimit-reset-tokens': '6m0s',
      }),
    ).toEqual({ remainingRequests: 59, resetRequestsMs: 1000, remainingTokens: 149_984, resetTokensMs: 360_000 });
  });

  it('keeps a budget only with both its remaining count and its reset, and says nothing without any', () => {
    expect(parseRateLimitHeaders({ 'x-ratelimit-remaining-requests': '3' })).toBeUndefined();
    expect(parseRateLimitHeaders({ 'x-ratelimit-remaining-tokens': '10', 'x-ratelimit-reset-tokens': '20ms', 'x-ratelimit-remaining-requests': 'many', 'x-ratelimit-reset-requests': '1s' })).toEqual({
      remainingTokens: 10,
      resetTokensMs: 20,
    });
    expect(parseRateLimitHeaders({})).toBeUndefined();
  });
});

describe('rateLimitWaitMs', () => {
  it('waits for the spent budget, the later one when both are spent, else the earlier reset', () => {
    expect(rateLimitWaitMs({ remainingRequests: 0, resetRequestsMs: 800, remainingTokens: 5000, resetTokensMs: 30_000 })).toBe(800);
    expect(rateLimitWaitMs({ remainingRequests: 0, resetRequestsMs: 800, remainingTokens: 0, resetTokensMs: 30_000 })).toBe(30_000);
    expect(rateLimitWaitMs({ remainingRequests: 3, resetRequestsMs: 800, remainingTokens: 9, resetTokensMs: 300 })).toBe(300);
    expect(rateLimitWaitMs(undefined)).toBeUndefined();
  });
});

describe('a 429 with x-ratelimit headers', () => {
  it('is a RateLimitedError carrying the budgets; without Retry-After it waits for the spent budget to reset', () => {
    const error = mapHttpError(429, { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1.5s' }, '{"error":{"message":"Rate limit reached"}}', url, 'm', 'openai');
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(1500);
    expect((error as RateLimitedError).rateLimit).toEqual({ remainingRequests: 0, resetRequestsMs: 1500 });
  });

  it('lets Retry-After win over the reset headers', () => {
    const error = mapHttpError(429, { 'retry-after': '2', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '20s' }, '', url, 'm', 'openai');
    expect(error.retryAfterMs).toBe(2000);
  });
});

describe('OpenAiBackend', () => {
  let server: RecordingServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("hands an answer's rate-limit budgets to the scheduler with the result", async () => {
    server = await startRecordingServer((_request, res) =>
      json(
        res,
        200,
        { id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } },
        { 'x-ratelimit-remaining-requests': '7', 'x-ratelimit-reset-requests': '120ms', 'x-ratelimit-remaining-tokens': '900', 'x-ratelimit-reset-tokens': '1m' },
      ),
    );
    const backend = new OpenAiBackend({ url: server.url });
    try {
      const result = await backend.complete({ endpoint: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'x' }] }, timeoutMs: 5000 });
      expect(result.rateLimit).toEqual({ remainingRequests: 7, resetRequestsMs: 120, remainingTokens: 900, resetTokensMs: 60_000 });
    } finally {
      await backend.close();
    }
  });
});
