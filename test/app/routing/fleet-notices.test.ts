import { afterEach, describe, expect, it } from 'vitest';
import { openFleet } from '../../../src/app/routing/open-fleet.js';
import type { StaticRouter } from '../../../src/app/routing/static-router.js';
import type { AppError } from '../../../src/errors.js';
import { startSimServer, type SimServer } from '../../sim/sim-server.js';

const sims: SimServer[] = [];
const routers: StaticRouter[] = [];
afterEach(async () => {
  await Promise.all(routers.splice(0).map((r) => r.close()));
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

/** Opens the fleet of `urls` as `batch run --server …` does, keeping its notices. */
async function fleet(urls: readonly string[], serverType?: 'openai'): Promise<{ router: StaticRouter; notices: string[] }> {
  const notices: string[] = [];
  const router = await openFleet({ servers: urls, serverType, keepAlive: '5m', stream: false }, { env: {}, notice: (line) => notices.push(line) });
  routers.push(router);
  return { router, notices };
}

/** Sends one chat request through the router as the scheduler does, again until it is answered (bounded). */
async function sendUntilAnswered(router: StaticRouter): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const lease = await router.acquire(undefined);
    try {
      await lease.backend.complete({ endpoint: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'hi' }] }, timeoutMs: 5000 });
      lease.release({});
      return;
    } catch (error) {
      lease.release({ error: error as AppError });
    }
  }
  throw new Error('never answered');
}

describe('fleet notices follow the fleet size and each server\'s history', () => {
  // Each load outlasts the fleet's opening on a loaded machine, so the notices are those of a load.
  it('one llama-server loading its model at start: paused, then ready, never "the other servers" nor "answers again"', async () => {
    const server = await startSimServer({ flavour: 'llama-server', loadMs: 2000 });
    sims.push(server);
    const { router, notices } = await fleet([server.url]);
    await sendUntilAnswered(router);
    await sendUntilAnswered(router);
    const text = notices.join('\n');
    expect(text).toMatch(new RegExp(`server ${server.url} is loading its model since \\d\\d:\\d\\d:\\d\\d: paused until it is ready`));
    expect(text).toMatch(new RegExp(`server ${server.url} is ready \\(its model loaded\\) after \\d+\\.\\ds: resuming`));
    expect(text).not.toContain('other server');
    expect(text).not.toContain('answers again');
    expect(text).not.toContain('every server');
  });

  it('one server whose requests get 503 "Loading model" while its model list answers: one pause, one resume, no flapping', async () => {
    const server = await startSimServer({ flavour: 'openai', loadMs: 1500 });
    sims.push(server);
    const { router, notices } = await fleet([server.url], 'openai');
    await sendUntilAnswered(router);
    await sendUntilAnswered(router);
    expect(notices.filter((n) => n.includes('paused'))).toEqual([expect.stringMatching(new RegExp(`^server ${server.url} is loading its model since .*: paused until it is ready`))]);
    expect(notices.filter((n) => n.includes('resuming'))).toEqual([expect.stringMatching(/is ready \(its model loaded\) after \d+\.\ds: resuming$/)]);
    expect(notices.join('\n')).not.toMatch(/other server|answers again/);
  });

  it('two servers, one loading: its requests go to the other; when it is ready it is its first answer, not "again"', async () => {
    const up = await startSimServer({ flavour: 'openai' });
    const loading = await startSimServer({ flavour: 'openai', loadMs: 800 });
    sims.push(up, loading);
    const { router, notices } = await fleet([up.url, loading.url], 'openai');
    // Enough requests that the loading server gets some before and after its load.
    for (let i = 0; i < 40 && !notices.some((n) => n.includes(`server ${loading.url} is ready`)); i += 1) {
      await Promise.all([sendUntilAnswered(router), sendUntilAnswered(router)]);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const text = notices.join('\n');
    expect(text).toContain(`server ${loading.url} is loading its model: its requests go to the other servers until a probe finds it back`);
    expect(text).toMatch(new RegExp(`server ${loading.url} is ready \\(its model loaded\\) after \\d+\\.\\ds: it takes requests`));
    expect(text).not.toMatch(/paused|answers again/);
  });
  it('two servers of different models, one loading: only requests for its models wait; those naming none go to the other', async () => {
    const up = await startSimServer({ flavour: 'openai', models: ['a'] });
    const loading = await startSimServer({ flavour: 'openai', models: ['b'], loadMs: 800 });
    sims.push(up, loading);
    const { router, notices } = await fleet([up.url, loading.url], 'openai');
    for (let i = 0; i < 40 && !notices.some((n) => n.includes(`server ${loading.url} is ready`)); i += 1) {
      await Promise.all([sendUntilAnswered(router), sendUntilAnswered(router)]);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const text = notices.join('\n');
    expect(text).toContain(
      `server ${loading.url} is loading its model: requests for its models wait for it (no other server up serves them), the rest go to the other servers, until a probe finds it back`,
    );
    expect(text).not.toContain('its requests wait for it');
  });
});
