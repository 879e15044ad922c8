import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../sim/sim-server.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-ollama-loads-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sims: SimServer[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

/** The job's load count as `batch status` prints it. */
function reportedLoads(stdout: string): number {
  const match = /loads {7}(\d+) model load\(s\)/.exec(stdout);
  expect(match, stdout).not.toBeNull();
  return Number(match![1]);
}

describe('model loads reported by Ollama', () => {
  it.each([
    ['keep_alive 5m', '5m'],
    ['keep_alive 0 (a load per burst of requests)', '0'],
  ])('count once per load the server made, not once per request that waited for it (%s)', async (_, keepAlive) => {
    const server = await startSimServer({ flavour: 'ollama', slots: 4, serviceMs: 20, loadMs: 300 });
    sims.push(server);
    const prompts = path.join(dir, `p-${keepAlive}.jsonl`);
    writePrompts(prompts, 24, 'load');
    const env = { BATCH_HOME: path.join(dir, `home-${keepAlive}`) };
    const run = await runCliInProcess(['run', prompts, '--server', server.url, '--workers', '4', '--keep-alive', keepAlive, '--job', 'loads', '--out', path.join(dir, `o-${keepAlive}.jsonl`)], { env });
    expect(run.code, run.stderr).toBe(0);
    const made = server.stats().modelLoads;
    // Four requests at a time wait for each load: counting answers that waited would say about 4× more.
    expect(made).toBeGreaterThan(0);
    const status = await runCliInProcess(['status', 'loads'], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(reportedLoads(status.stdout)).toBe(made);
  });
});
