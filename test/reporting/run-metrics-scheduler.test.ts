import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../src/backends/open-backend.js';
import type { Backend } from '../../src/backends/backend.js';
import { StaticRouter } from '../../src/app/routing/static-router.js';
import type { PromptItem } from '../../src/prompts/prompt-item.js';
import { RunMetrics } from '../../src/reporting/run-metrics.js';
import { RetryPolicy } from '../../src/scheduler/retry-policy.js';
import { runScheduler } from '../helpers/run-scheduler.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let sims: SimServer[];
let backends: Backend[];
beforeAll(async () => {
  // Two servers that refuse some requests (500 on one, 429 on the other): each refusal is a
  // request that ended with an error code, on its own server, and is sent again.
  sims = await Promise.all([
    startSimServer({ flavour: 'openai', models: ['sim-model', 'qwen'], slots: 4, serviceMs: 2, script: (n) => (n % 4 === 2 ? '500' : undefined) }),
    startSimServer({ flavour: 'openai', models: ['sim-model', 'qwen'], slots: 4, serviceMs: 2, faults: { retryAfterSeconds: 0 }, script: (n) => (n % 5 === 3 ? '429' : undefined) }),
  ]);
  backends = await Promise.all(sims.map((sim) => openBackend({ url: sim.url, type: 'openai', connections: 4 })));
});
afterAll(async () => {
  await Promise.all((backends ?? []).map((backend) => backend.close()));
  await Promise.all((sims ?? []).map((sim) => sim.close()));
});

/** The series of `metric` in the exposition, as `label=value,...` -> value. */
async function seriesOf(metrics: RunMetrics, metric: string): Promise<Map<string, number>> {
  const values = (await metrics.registry.getSingleMetric(metric)!.get()).values;
  return new Map(values.map((v) => [Object.entries(v.labels).map(([k, l]) => `${k}=${l}`).join(','), v.value]));
}

const sum = (series: Map<string, number>, filter: (key: string) => boolean): number => [...series].filter(([key]) => filter(key)).reduce((total, [, value]) => total + value, 0);

describe('a run\'s Prometheus metrics from the real scheduler', () => {
  it('count every request on the server that took it, by outcome, as the servers counted them, retries included', async () => {
    const metrics = new RunMetrics({ job: 'night', counts: () => ({ pending: 0, running: 0, done: 0, failed: 0, total: 0 }), memoryLimitBytes: 1 });
    const count = 60;
    const items: PromptItem[] = Array.from({ length: count }, (_, i) => ({
      customId: `p${i}`,
      index: i,
      source: `in.jsonl:${i + 1}`,
      endpoint: '/v1/chat/completions',
      body: { ...(i % 2 === 0 ? { model: 'qwen' } : {}), messages: [{ role: 'user', content: `prompt ${i}` }], max_tokens: 4 },
    }));
    const summary = await runScheduler({
      router: new StaticRouter(await Promise.all(backends.map(async (backend) => ({ backend, info: await backend.describe() })))),
      source: {
        models: () => [{ model: 'qwen', pending: count / 2 }, { model: null, pending: count / 2 }],
        items: async function* (model) {
          yield* items.filter((item) => (item.body.model ?? null) === model);
        },
      },
      sink: { markRunning() {}, record() {}, error: undefined },
      workers: 8,
      retryPolicy: new RetryPolicy({ retries: 10, baseDelayMs: 1, random: () => 0 }),
      listener: metrics.listener,
    });
    expect(summary.done).toBe(count);
    const requests = await seriesOf(metrics, 'batch_requests_total');
    const [one, two] = sims.map((sim) => sim.stats());
    const on = (sim: SimServer) => (key: string) => key.includes(`server=${sim.url},`);
    // Every request each server received is counted on it: answered ones as ok, refusals by code.
    expect(sum(requests, on(sims[0]!))).toBe(one!.requests);
    expect(sum(requests, on(sims[1]!))).toBe(two!.requests);
    expect(sum(requests, (key) => on(sims[0]!)(key) && key.endsWith('outcome=SERVER_ERROR'))).toBe(one!.faults['500']);
    expect(sum(requests, (key) => on(sims[1]!)(key) && key.endsWith('outcome=RATE_LIMITED'))).toBe(two!.faults['429']);
    expect(sum(requests, (key) => key.endsWith('outcome=ok'))).toBe(count);
    expect(one!.faults['500'] + two!.faults['429']).toBeGreaterThan(0);
    // By the model asked for ("default": none named).
    expect(sum(requests, (key) => key.startsWith('model=qwen,') && key.endsWith('outcome=ok'))).toBe(count / 2);
    const retries = await seriesOf(metrics, 'batch_retries_total');
    expect(retries.get('cause=SERVER_ERROR') ?? 0).toBe(one!.faults['500']);
    expect(retries.get('cause=RATE_LIMITED') ?? 0).toBe(two!.faults['429']);
    expect([...(await seriesOf(metrics, 'batch_requests_in_flight')).values()]).toEqual([0, 0]);
  });
});
