import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll-until.js';
import { parseJsonl, runCliProcess, startCliProcess } from '../helpers/run-cli-process.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-e2e-interrupt-reading-'));
  sim = await startSimServer({ slots: 4, serviceMs: 1 });
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Ctrl-C while standard input is still being written', () => {
  it('stops the run (exit 130) although the producer never ends, and the job resumes', async () => {
    const env = { BATCH_HOME: path.join(dir, 'home') };
    const run = startCliProcess(['run', '-', '--job', 'piped', '--server', sim.url, '-q'], { env, openStdin: true, timeoutMs: 60_000 });
    run.child.stdin!.write(`${JSON.stringify({ id: 'a', prompt: 'piped a' })}\n${JSON.stringify({ id: 'b', prompt: 'piped b' })}\n`);
    await pollUntil(() => sim.stats().completed >= 2, 'the first two answers');
    run.child.kill('SIGINT');
    const result = await run.done;
    // Killed by the test's timeout (SIGKILL) if reading could not be stopped.
    expect(result.signal).toBeNull();
    expect(result.code).toBe(130);
    expect(result.stdout).toContain('batch resume');
    run.child.stdin!.destroy();
    const resumed = await runCliProcess(['resume', 'piped', '-q'], { env });
    expect(resumed.code).toBe(0);
    const lines = parseJsonl(readFileSync(path.join(env.BATCH_HOME, 'piped.output.jsonl'), 'utf8'));
    expect(lines.map((line) => line.custom_id)).toEqual(['a', 'b']);
  });
});
