import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let dir: string;
let sim: SimServer;
let input: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-durations-'));
  sim = await startSimServer({ flavour: 'openai', slots: 2, serviceMs: 1 });
  input = path.join(dir, 'in.jsonl');
  writeFileSync(input, `${JSON.stringify({ id: 'a', prompt: 'one' })}\n`);
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a duration of 0', () => {
  it('--timeout 0 is refused (exit 2) before anything is sent, saying what is expected', async () => {
    sim.resetStats();
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--timeout', '0'], { env: { BATCH_HOME: path.join(dir, 'timeout') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\[USAGE\]: .*--timeout.*got "?0"?/);
    expect(sim.stats().requests).toBe(0);
  });

  it('--max-wait 0 is accepted and means no bound: the run completes', async () => {
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--max-wait', '0', '--json'], { env: { BATCH_HOME: path.join(dir, 'max-wait') } });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ done: 1 });
  });
});
