import { afterEach, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backends/open-backend.js';
import { mapTransportError } from '../../src/backends/map-backend-error.js';
import type { Backend } from '../../src/backends/backend.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

const opened: Array<SimServer | Backend> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

const body = { messages: [{ role: 'user', content: 'hello' }] };

describe('--stall-timeout', () => {
  it('a request that receives no byte for the stall timeout fails as STALLED (retryable), well before its own deadline', async () => {
    const sim = await startSimServer({ script: (n) => (n === 1 ? 'hang' : undefined) });
    opened.push(sim);
    for (const stream of [false, true]) {
      sim.resetStats();
      const backend = createBackend('llama-server', { url: sim.url, stallTimeoutMs: 200, stream });
      opened.push(backend);
      const failure = backend.complete({ endpoint: '/v1/chat/completions', body, timeoutMs: 60_000 });
      await expect(failure).rejects.toMatchObject({ code: 'STALLED', retryable: true });
      await expect(failure).rejects.toThrow(`${sim.url} sent nothing for 200 ms (--stall-timeout)`);
      // The hung slot is freed by the abort, and the next request is answered.
      await expect(backend.complete({ endpoint: '/v1/chat/completions', body, timeoutMs: 60_000 })).resolves.toMatchObject({ statusCode: 200 });
    }
  });

  it("undici's silence timeouts mean a stall only when one was asked for", () => {
    const silence = Object.assign(new Error('Body Timeout Error'), { code: 'UND_ERR_BODY_TIMEOUT' });
    expect(mapTransportError(silence, 'http://a', { timeoutMs: 1000, timedOut: false, aborted: false, stallTimeoutMs: 500 }).code).toBe('STALLED');
    expect(mapTransportError(silence, 'http://a', { timeoutMs: 1000, timedOut: false, aborted: false }).code).toBe('CONNECTION_RESET');
  });
});
