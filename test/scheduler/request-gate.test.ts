import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { RateLimitedError } from '../../src/backends/rate-limited-error.js';
import type { PromptItem } from '../../src/prompts/prompt-item.js';
import { estimateRequestTokens } from '../../src/scheduler/estimate-request-tokens.js';
import { RequestGate } from '../../src/scheduler/request-gate.js';
import type { RouteLease } from '../../src/scheduler/router.js';
import { FakeBackend, answer } from './fake-backend.js';

function item(i: number, body: Record<string, unknown> = { messages: [{ role: 'user', content: `p${i}` }] }): PromptItem {
  return { customId: `id-${i}`, index: i, source: `in.jsonl:${i + 1}`, endpoint: '/v1/chat/completions', body };
}

function leaseOf(backend: Backend): RouteLease & { released: number } {
  const lease = {
    backend,
    model: undefined,
    released: 0,
    release: () => {
      lease.released += 1;
    },
  };
  return lease;
}

const request = { endpoint: '/v1/chat/completions' as const, body: { messages: [{ role: 'user', content: 'x' }] }, timeoutMs: 1000 };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RequestGate', () => {
  it('--rpm 600: greedy senders get at most 305 requests out in 30 simulated seconds', async () => {
    const gate = new RequestGate({ rpm: 600, initialConcurrency: 64, now: () => Date.now() });
    const backend = new FakeBackend('http://api');
    const start = Date.now();
    const sentAt: number[] = [];
    const never = new AbortController();
    const sender = async (): Promise<void> => {
      for (let i = 0; ; i++) {
        const lease = await gate.admit(leaseOf(backend), item(i), never.signal);
        if (lease === undefined) return;
        sentAt.push(Date.now() - start);
        await lease.backend.complete(request);
        lease.release();
      }
    };
    const senders = Array.from({ length: 20 }, () => sender());
    await vi.advanceTimersByTimeAsync(30_000);
    const inWindow = sentAt.filter((t) => t <= 30_000).length;
    expect(inWindow).toBeLessThanOrEqual(305);
    expect(inWindow).toBeGreaterThanOrEqual(300);
    never.abort();
    await vi.advanceTimersByTimeAsync(1000);
    await Promise.all(senders);
  });

  it('--tpm holds requests to the estimated tokens per minute', async () => {
    const gate = new RequestGate({ tpm: 6000, initialConcurrency: 8, now: () => Date.now() });
    const backend = new FakeBackend('http://api');
    // 400 characters (100 tokens) plus max_tokens 100: 200 tokens each, 30 a minute.
    const body = { messages: [{ role: 'user', content: 'x'.repeat(400) }], max_tokens: 100 };
    expect(estimateRequestTokens(body)).toBe(200);
    const start = Date.now();
    const sentAt: number[] = [];
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const lease = (await gate.admit(leaseOf(backend), item(i, body), new AbortController().signal))!;
        sentAt.push(Date.now() - start);
        await lease.backend.complete(request);
        lease.release();
      }).concat([vi.advanceTimersByTimeAsync(60_000)]),
    );
    // Capacity is half a second of the rate (50 tokens): one request at once, then one per 2 s.
    sentAt.sort((a, b) => a - b);
    expect(sentAt[0]).toBe(0);
    expect(sentAt[11]).toBeGreaterThanOrEqual(11 * 2000 - 500);
  });

  it('--tpm 1: a prompt estimated above a minute of the budget fails at once with REQUEST_OVER_TPM, sending nothing', async () => {
    const gate = new RequestGate({ tpm: 100, initialConcurrency: 2, now: () => Date.now() });
    const backend = new FakeBackend('http://api');
    const never = new AbortController().signal;
    // 40 characters (10 tokens) plus max_tokens 100: 110 tokens, more than 100 a minute.
    const big = item(0, { messages: [{ role: 'user', content: 'x'.repeat(40) }], max_tokens: 100 });
    const lease = leaseOf(backend);
    const admitted = (await gate.admit(lease, big, never))!;
    await expect(admitted.backend.complete(request)).rejects.toMatchObject({
      code: 'REQUEST_OVER_TPM',
      retryable: false,
      message: expect.stringContaining('in.jsonl:1: prompt id-0 is estimated at 110 tokens (prompt characters / 4 + max_tokens), more than --tpm 100 allows in a minute; it would wait 2 minutes. Not sent: raise --tpm to at least 110'),
    });
    admitted.release();
    expect(lease.released).toBe(1);
    expect(backend.calls).toBe(0);
    // A prompt within the minute's budget still goes, at once (the bucket was not drawn on).
    const small = (await gate.admit(leaseOf(backend), item(1, { messages: [{ role: 'user', content: 'x'.repeat(40) }], max_tokens: 90 }), never))!;
    await small.backend.complete(request);
    expect(backend.calls).toBe(1);
  });

  it("holds every request to an endpoint until the server's spent budget resets (x-ratelimit-*)", async () => {
    const gate = new RequestGate({ initialConcurrency: 4, now: () => Date.now() });
    const backend = new FakeBackend('http://api', (r) => ({ ...answer(r), rateLimit: { remainingRequests: 0, resetRequestsMs: 1500 } }));
    const never = new AbortController().signal;
    const first = (await gate.admit(leaseOf(backend), item(0), never))!;
    await first.backend.complete(request);
    first.release();
    let admittedAt: number | undefined;
    const start = Date.now();
    const second = gate.admit(leaseOf(backend), item(1), never).then((lease) => {
      admittedAt = Date.now() - start;
      return lease;
    });
    await vi.advanceTimersByTimeAsync(1400);
    expect(admittedAt).toBeUndefined();
    await vi.advanceTimersByTimeAsync(200);
    expect(admittedAt).toBe(1500);
    (await second)!.release();
  });

  it('a 429 with x-ratelimit-* holds the other requests too, and cuts the concurrency', async () => {
    const gate = new RequestGate({ initialConcurrency: 10, maxConcurrency: 10, now: () => Date.now() });
    const refused = new RateLimitedError('http://api', '429', { remainingTokens: 0, resetTokensMs: 2000 }, { retryAfterMs: 2000, statusCode: 429 });
    const backend = new FakeBackend('http://api', () => Promise.reject(refused));
    const never = new AbortController().signal;
    const leases = await Promise.all(Array.from({ length: 10 }, (_, i) => gate.admit(leaseOf(backend), item(i), never)));
    await expect(leases[0]!.backend.complete(request)).rejects.toBe(refused);
    expect(gate.concurrencyOf('http://api')).toBe(9);
    let admittedAt: number | undefined;
    const start = Date.now();
    const next = gate.admit(leaseOf(backend), item(11), never).then((lease) => ((admittedAt = Date.now() - start), lease));
    for (const lease of leases) lease!.release();
    await vi.advanceTimersByTimeAsync(1900);
    expect(admittedAt).toBeUndefined();
    await vi.advanceTimersByTimeAsync(200);
    expect(admittedAt).toBe(2000);
    (await next)!.release();
  });

  it('frees the slot as soon as the answer ends, not when the scheduler releases the lease after its backoff', async () => {
    const gate = new RequestGate({ initialConcurrency: 1, now: () => Date.now() });
    const backend = new FakeBackend('http://api');
    const never = new AbortController().signal;
    const first = (await gate.admit(leaseOf(backend), item(0), never))!;
    let second: RouteLease | undefined;
    void gate.admit(leaseOf(backend), item(1), never).then((lease) => (second = lease));
    await vi.advanceTimersByTimeAsync(10);
    expect(second).toBeUndefined();
    await first.backend.complete(request);
    await vi.advanceTimersByTimeAsync(0);
    expect(second).toBeDefined();
    first.release();
    second!.release();
  });

  it('gives up a wait when stopped: nothing sent, the route released', async () => {
    const gate = new RequestGate({ initialConcurrency: 1, now: () => Date.now() });
    const backend = new FakeBackend('http://api');
    const stop = new AbortController();
    const held = (await gate.admit(leaseOf(backend), item(0), stop.signal))!;
    const waiting = leaseOf(backend);
    const result = gate.admit(waiting, item(1), stop.signal);
    stop.abort();
    expect(await result).toBeUndefined();
    expect(waiting.released).toBe(1);
    expect(backend.calls).toBe(0);
    held.release();
  });

  it('probes only OpenAI-compatible servers above the start: llama-server and Ollama keep it', async () => {
    const gate = new RequestGate({ initialConcurrency: 2, maxConcurrency: 64, now: () => Date.now() });
    const never = new AbortController().signal;
    const drive = async (backend: Backend): Promise<void> => {
      for (let round = 0; round < 40; round++) {
        const leases: RouteLease[] = [];
        for (;;) {
          const pending = gate.admit(leaseOf(backend), item(round), never);
          const settled = await Promise.race([pending, vi.advanceTimersByTimeAsync(0).then(() => 'waiting' as const)]);
          if (settled === 'waiting') {
            for (const lease of leases) await lease.backend.complete(request);
            for (const lease of leases) lease.release();
            (await pending)!.release();
            break;
          }
          leases.push(settled!);
        }
      }
    };
    const openai = new FakeBackend('http://openai');
    await drive(openai);
    expect(gate.concurrencyOf('http://openai')).toBeGreaterThan(4);
    const llama = Object.assign(new FakeBackend('http://llama'), { type: 'llama-server' as const });
    await drive(llama as unknown as Backend);
    expect(gate.concurrencyOf('http://llama')).toBe(2);
  });

  it('refuses limits that are not whole numbers >= 1', () => {
    expect(() => new RequestGate({ rpm: 0, initialConcurrency: 1 })).toThrow(/rpm/);
    expect(() => new RequestGate({ tpm: -1, initialConcurrency: 1 })).toThrow(/tpm/);
    expect(() => new RequestGate({ initialConcurrency: 4, maxConcurrency: 2 })).toThrow(/maxConcurrency/);
  });
});

describe('estimateRequestTokens', () => {
  it('counts message text (strings and text parts) or the prompt, by 4 characters a token, plus max_tokens', () => {
    expect(estimateRequestTokens({ messages: [{ role: 'system', content: 'abcd' }, { role: 'user', content: [{ type: 'text', text: 'efghijkl' }] }] })).toBe(3);
    expect(estimateRequestTokens({ prompt: 'x'.repeat(10), max_tokens: 50 })).toBe(53);
    expect(estimateRequestTokens({ prompt: '', max_completion_tokens: 7, max_tokens: 100 })).toBe(7);
    expect(estimateRequestTokens({})).toBe(1);
  });
});

