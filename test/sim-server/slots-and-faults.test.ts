import { afterEach, describe, expect, it } from 'vitest';
import { simAnswer, startSimServer, type SimFault, type SimRequest, type SimServer } from '../sim/sim-server.js';
import { getJson, postJson, send } from './http.js';

let server: SimServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A promise resolved from outside, to await an event the server reports through a callback. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('slots', () => {
  it('serves at most `slots` requests at once and the rest in arrival order', async () => {
    const slots = 2;
    const total = slots * 3;
    const arrived: string[] = [];
    const started: string[] = [];
    const holdersArrived = deferred();
    const allArrived = deferred();
    server = await startSimServer({
      slots,
      serviceMs: (request: SimRequest) => {
        started.push(request.promptText);
        return 2;
      },
      // The first `slots` requests hold their slots until their clients give up, so that every
      // other request is certainly waiting when the test looks.
      script: (n, request): SimFault | undefined => {
        arrived.push(request.promptText);
        if (n === slots) holdersArrived.resolve();
        if (n === total) allArrived.resolve();
        return n <= slots ? 'hang' : undefined;
      },
    });
    const holders = Array.from({ length: slots }, () => new AbortController());
    const held = holders.map((controller, i) => send(`${server!.url}/v1/completions`, { body: { prompt: `held ${i}` }, signal: controller.signal }).catch((error: Error) => error));
    // The holders must own the slots before the others arrive.
    await holdersArrived.promise;
    const queued = Array.from({ length: total - slots }, (_, i) => postJson(`${server!.url}/v1/completions`, { prompt: `queued ${i}` }));
    await allArrived.promise;

    expect(server.stats()).toMatchObject({ requests: total, inFlight: total, maxConcurrent: total, maxInService: slots, completed: 0 });
    const busy = (await getJson(`${server.url}/slots`)).json.map((slot: any) => slot.is_processing);
    expect(busy).toEqual([true, true]);

    holders[0]!.abort();
    const answers = await Promise.all(queued);
    expect(answers.map((answer) => answer.json.choices[0].text)).toEqual(arrived.slice(slots).map(simAnswer));
    expect(started).toEqual(arrived.slice(slots));
    holders[1]!.abort();
    expect((await Promise.all(held)).every((result) => result instanceof Error)).toBe(true);
    await expect.poll(() => server!.stats().inFlight).toBe(0);
    expect(server.stats()).toMatchObject({ completed: total - slots, maxInService: slots, faults: { hang: slots } });
  });

  it('never exceeds the slots with many concurrent requests, and answers each with its own prompt', async () => {
    server = await startSimServer({ slots: 3, serviceMs: 3 });
    const prompts = Array.from({ length: 9 }, (_, i) => `prompt number ${i}`);
    const answers = await Promise.all(prompts.map((prompt) => postJson(`${server!.url}/v1/completions`, { prompt })));
    expect(answers.map((answer) => answer.json.choices[0].text)).toEqual(prompts.map(simAnswer));
    const stats = server.stats();
    expect(stats.maxInService).toBeLessThanOrEqual(3);
    expect(stats.maxConcurrent).toBeGreaterThanOrEqual(stats.maxInService);
    expect(stats).toMatchObject({ requests: 9, completed: 9, inFlight: 0 });
    expect(Object.values(stats.byPrompt)).toEqual(Array(9).fill(1));
  });
});

describe('faults', () => {
  it('applies scripted faults to the n-th request: 500, 429 with Retry-After, drop', async () => {
    const plan: Record<number, SimFault> = { 1: '500', 2: '429', 3: 'drop', 4: 'ok' };
    server = await startSimServer({ script: (n) => plan[n], faults: { retryAfterSeconds: 7 } });
    const error500 = await postJson(`${server.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'a' }] });
    expect(error500.status).toBe(500);
    expect(error500.json.error.type).toBe('server_error');
    const error429 = await postJson(`${server.url}/v1/completions`, { prompt: 'b' });
    expect(error429.status).toBe(429);
    expect(error429.headers['retry-after']).toBe('7');
    await expect(send(`${server.url}/v1/completions`, { body: { prompt: 'c' } })).rejects.toThrow();
    expect((await postJson(`${server.url}/v1/completions`, { prompt: 'd' })).status).toBe(200);
    expect((await postJson(`${server.url}/v1/completions`, { prompt: 'e' })).status).toBe(200);
    await expect.poll(() => server!.stats().inFlight).toBe(0);
    expect(server.stats()).toMatchObject({ requests: 5, completed: 2, faults: { '500': 1, '429': 1, drop: 1, hang: 0 } });
  });

  it('never applies faults to info endpoints', async () => {
    server = await startSimServer({ script: () => '500', faults: { error500Rate: 1 } });
    expect((await getJson(`${server.url}/health`)).status).toBe(200);
    expect((await getJson(`${server.url}/props`)).status).toBe(200);
    expect((await getJson(`${server.url}/v1/models`)).status).toBe(200);
    expect(server.stats().requests).toBe(0);
  });

  it('draws random faults from the seed, so the same seed gives the same faults', async () => {
    const outcomes = async (seed: number): Promise<number[]> => {
      const sim = await startSimServer({ seed, faults: { error500Rate: 0.3, error429Rate: 0.3 } });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 30; i++) statuses.push((await send(`${sim.url}/v1/completions`, { body: { prompt: `p${i}` } })).status);
        return statuses;
      } finally {
        await sim.close();
      }
    };
    const first = await outcomes(42);
    expect(await outcomes(42)).toEqual(first);
    expect(await outcomes(43)).not.toEqual(first);
    expect(new Set(first)).toEqual(new Set([200, 429, 500]));
  });
});

describe('stats and lifecycle', () => {
  it('serves stats at /__sim/stats, resets them at /__sim/reset, and counts repeated prompts', async () => {
    server = await startSimServer({ flavour: 'ollama', apiKey: 'k' });
    const auth = { authorization: 'Bearer k' };
    await postJson(`${server.url}/api/generate`, { prompt: 'same', stream: false, keep_alive: '1m' }, auth);
    await postJson(`${server.url}/api/generate`, { prompt: 'same', stream: false }, auth);
    const stats = (await getJson(`${server.url}/__sim/stats`)).json;
    expect(stats).toEqual(server.stats());
    expect(stats).toMatchObject({ requests: 2, completed: 2, byPrompt: { same: 2 }, keepAlives: ['1m'], models: { 'sim-model': 2 }, authorizationSeen: true });
    expect((await send(`${server.url}/__sim/reset`, { method: 'POST' })).status).toBe(200);
    expect(server.stats()).toMatchObject({ requests: 0, completed: 0, byPrompt: {}, keepAlives: [], authorizationSeen: false, maxConcurrent: 0 });
  });

  it('restarts the script numbering on resetStats', async () => {
    const seen: number[] = [];
    server = await startSimServer({ script: (n) => (seen.push(n), undefined) });
    await postJson(`${server.url}/v1/completions`, { prompt: 'a' });
    server.resetStats();
    await postJson(`${server.url}/v1/completions`, { prompt: 'b' });
    expect(seen).toEqual([1, 1]);
  });

  it('close() ends hung requests and crash() refuses new connections', async () => {
    const hanging = deferred();
    const sim = await startSimServer({ script: () => (hanging.resolve(), 'hang') });
    const hung = send(`${sim.url}/v1/completions`, { body: { prompt: 'x' } });
    await hanging.promise;
    await sim.close();
    await expect(hung).rejects.toThrow();

    const serving = deferred();
    const crashing = await startSimServer({ serviceMs: () => (serving.resolve(), 60_000) });
    const pending = send(`${crashing.url}/v1/completions`, { body: { prompt: 'y' } });
    await serving.promise;
    crashing.crash();
    await expect(pending).rejects.toThrow();
    await expect(send(`${crashing.url}/health`)).rejects.toThrow();
  });

  it('rejects invalid options with the value it got', async () => {
    await expect(startSimServer({ slots: 0 })).rejects.toThrow('Expected `slots` to be an integer >= 1, got `0` (number)');
    await expect(startSimServer({ faults: { dropRate: 2 } })).rejects.toThrow('Expected `faults.dropRate` to be a number from 0 to 1');
    await expect(startSimServer({ models: [] })).rejects.toThrow('Expected `models` to be a non-empty array');
    await expect(startSimServer({ flavour: 'vllm' as never })).rejects.toThrow('Expected `flavour` to be one of llama-server, ollama, openai, got `"vllm"`');
  });
});
