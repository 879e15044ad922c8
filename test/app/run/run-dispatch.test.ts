import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchRun, type DispatchResult } from '../../../src/app/run/run-dispatch.js';
import { RunIngest } from '../../../src/app/run/run-ingest.js';
import { locateRun, planRun } from '../../../src/app/run/run-plan.js';
import { settleWork } from '../../../src/app/run/settle-work.js';
import { CheckpointStore } from '../../../src/store/checkpoint-store.js';
import { startSimServer, type SimServer } from '../../sim/sim-server.js';

let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-run-dispatch-'));
  sim = await startSimServer({ flavour: 'openai', models: ['m'] });
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Plans, opens and reads a job of `count` prompts for the sim, then dispatches it (twice with `again`). */
async function dispatch(name: string, count: number, again = false): Promise<{ results: DispatchResult[]; dispatches: number; out: string }> {
  const file = path.join(dir, `${name}.jsonl`);
  writeFileSync(file, Array.from({ length: count }, (_, i) => JSON.stringify({ id: `p${i}`, prompt: `q ${i}`, model: 'm' })).join('\n'));
  const context = { cwd: dir, env: { BATCH_HOME: path.join(dir, name) }, stdin: new PassThrough() };
  const options = { inputs: [file], job: name, servers: [sim.url], workers: 2 };
  const location = locateRun(options, context);
  const store = CheckpointStore.open({ path: location.located.db });
  let dispatches = 0;
  const results: DispatchResult[] = [];
  try {
    const plan = await planRun(undefined, location, options, context);
    const job = store.openJob({ name, config: { ...plan.config }, inputFingerprint: plan.fingerprint });
    const runId = store.startRun(job.id, { pid: process.pid, host: os.hostname(), argv: [] });
    for (let round = 0; round < (again ? 2 : 1); round++) {
      const ingest = new RunIngest({ store, plan, jobId: job.id, cache: false, context });
      await ingest.start();
      const work = settleWork({ store, plan, jobId: job.id, isNewJob: job.isNew && round === 0, ingest, retryFailed: false, cache: false });
      results.push(await dispatchRun({ store, plan, home: location.home, jobId: job.id, runId, ingest, before: work.before, onDispatch: () => (dispatches += 1), context }));
    }
    return { results, dispatches, out: plan.out };
  } finally {
    store.close();
  }
}

describe('dispatchRun (the dispatch phase: router, gate, scheduler, writer)', () => {
  it("sends the job's pending prompts through the run target's router and writes the output as answers land", async () => {
    sim.resetStats();
    const { results, dispatches, out } = await dispatch('send', 5);
    expect(dispatches).toBe(1);
    expect(results[0]!.scheduled?.stoppedBy).toBeUndefined();
    expect(results[0]!.statistics).toMatchObject({ dispatched: 5, done: 5, failed: 0 });
    expect(results[0]!.writerError).toBeUndefined();
    expect(results[0]!.outputComplete).toBe(true);
    expect(sim.stats().requests).toBe(5);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(5);
  });

  it('with nothing pending opens no router and sends nothing', async () => {
    sim.resetStats();
    const { results, dispatches } = await dispatch('nothing', 2, true);
    expect(dispatches).toBe(1);
    expect(sim.stats().requests).toBe(2);
    expect(results[1]).toMatchObject({ scheduled: undefined, statistics: undefined, modelLoads: [], cached: 0 });
  });
});
