import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-status-settings-'));
  sim = await startSimServer({ flavour: 'openai', slots: 2, serviceMs: 1 });
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('batch status shows what `batch resume` will use', () => {
  it('the inputs and the last run’s flags, as text and as JSON', async () => {
    const env = { BATCH_HOME: path.join(dir, 'home') };
    const input = path.join(dir, 'in.jsonl');
    writeFileSync(input, `${JSON.stringify({ id: 'a', prompt: 'one' })}\n`);
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', 'j', '--workers', '3', '--timeout', '90', '-q'], { env })).code).toBe(0);
    // The last run's flags win: --workers 2 now, --timeout as remembered.
    expect((await runCliInProcess(['run', input, '--job', 'j', '--workers', '2', '--stream', '-q'], { env })).code).toBe(0);
    const status = await runCliInProcess(['status', 'j'], { env });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`resume uses\n  inputs    ${input}\n  settings  --server ${sim.url} --workers 2 --timeout 90 --stream\n`);
    const json = JSON.parse((await runCliInProcess(['status', 'j', '--json'], { env })).stdout) as { resumeUses: unknown };
    expect(json.resumeUses).toEqual({ inputs: [input], settings: { servers: [sim.url], workers: 2, timeoutMs: 90_000, stream: true } });
  });

  it("--llama-server-args '' clears the arguments a job remembers, so resume passes none", async () => {
    const env = { BATCH_HOME: path.join(dir, 'home-clear') };
    const input = path.join(dir, 'in-clear.jsonl');
    writeFileSync(input, `${JSON.stringify({ id: 'a', prompt: 'one' })}\n`);
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', 'c', '--llama-server-args', '--flash-attn on', '-q'], { env })).code).toBe(0);
    expect((await runCliInProcess(['status', 'c'], { env })).stdout).toContain(`settings  --server ${sim.url} --llama-server-args '--flash-attn on'\n`);
    const cleared = await runCliInProcess(['resume', 'c', '--llama-server-args', '', '-q'], { env });
    expect(cleared.code, cleared.stderr).toBe(0);
    expect((await runCliInProcess(['status', 'c'], { env })).stdout).toContain(`settings  --server ${sim.url}\n`);
  });
});
