import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll-until.js';
import { parseJsonl, runCliProcess, startCliProcess } from '../helpers/run-cli-process.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let dir: string;
let sim: SimServer;
let arrivals: string[] = [];
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-e2e-priorities-'));
  // One slot and slow answers: the run is killed with most prompts still to send.
  sim = await startSimServer({ flavour: 'openai', models: ['a', 'b'], slots: 1, serviceMs: 150, script: (_n, request) => void arrivals.push(request.promptText) });
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const priorities: Record<string, number> = { a0: 0, b0: 5, a1: 3, b1: 0, a2: 1, b2: 0, a3: 3, b3: 1, a4: 2, b4: 0, a5: 0, b5: 0 };
const inputOrder = Object.keys(priorities);
/** b waits with 5, a with 3: b first; inside each, priority then input order. */
const expectedOrder = ['b0', 'b3', 'b1', 'b2', 'b4', 'b5', 'a1', 'a3', 'a4', 'a2', 'a0', 'a5'];

/** The documented order of `ids`: models by the highest priority among them, then priority, then input order. */
function sendingOrder(ids: readonly string[]): string[] {
  const top = (model: string): number => Math.max(...ids.filter((id) => id[0] === model).map((id) => priorities[id]!));
  const first = (model: string): number => inputOrder.findIndex((id) => id[0] === model && ids.includes(id));
  return [...ids].sort((x, y) => top(y[0]!) - top(x[0]!) || first(x[0]!) - first(y[0]!) || priorities[y]! - priorities[x]! || inputOrder.indexOf(x) - inputOrder.indexOf(y));
}

/** Answers committed to the job database so far (0 while it is being created). */
function committedAnswers(file: string): number {
  if (!existsSync(file)) return 0;
  const handle = new Database(file, { readonly: true });
  try {
    return (handle.prepare("SELECT count(*) AS n FROM items WHERE status = 'done'").get() as { n: number }).n;
  } catch {
    return 0;
  } finally {
    handle.close();
  }
}

describe('priorities across a kill and `batch resume`', () => {
  it('the resumed run sends what is left in the same order: the job database keeps the priorities', async () => {
    const file = path.join(dir, 'in.jsonl');
    writeFileSync(file, inputOrder.map((id) => JSON.stringify({ id, prompt: id, model: id[0], priority: priorities[id] })).join('\n') + '\n');
    const env = { BATCH_HOME: path.join(dir, 'home') };
    const run = startCliProcess(['run', file, '--server', sim.url, '--workers', '1', '--job', 'night', '-q'], { env });
    // Killed once 4 answers are committed (killed before any commit, the resume would send all 12 again).
    const db = path.join(env.BATCH_HOME, 'night.sqlite');
    await pollUntil(() => committedAnswers(db) >= 4, '4 answers committed');
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');
    const first = [...arrivals];
    expect(sendingOrder(inputOrder)).toEqual(expectedOrder);
    // The first run's own order is not asserted: it may start sending before its reader reaches the
    // end of the file on a loaded machine (priorities then order what was read; see README).

    arrivals = [];
    const resumed = await runCliProcess(['resume', 'night', '-q'], { env });
    expect(resumed.code).toBe(0);
    // Everything not sent before the kill is sent now, with whatever the kill left uncommitted,
    // in the order of what is left (models ordered again by the highest priority still waiting).
    expect(arrivals).toEqual(expect.arrayContaining(inputOrder.filter((id) => !first.includes(id))));
    expect(arrivals.length).toBeLessThan(expectedOrder.length);
    expect(arrivals).toEqual(sendingOrder(arrivals));
    const output = parseJsonl(readFileSync(path.join(env.BATCH_HOME, 'night.output.jsonl'), 'utf8'));
    expect(output.map((line) => line.custom_id)).toEqual(inputOrder);
  });
});
