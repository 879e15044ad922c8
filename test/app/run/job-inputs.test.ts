import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonl } from '../../helpers/run-cli-process.js';
import { runCliInProcess } from '../../helpers/run-cli-in-process.js';
import { startSimServer, type SimServer } from '../../sim/sim-server.js';

let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-app-inputs-'));
  sim = await startSimServer({ flavour: 'openai', slots: 2, serviceMs: 1 });
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const line = (id: string): string => JSON.stringify({ id, prompt: `question ${id}` });

function fresh(name: string): { home: string; env: Record<string, string>; input: string } {
  const home = path.join(dir, name);
  mkdirSync(home, { recursive: true });
  return { home, env: { BATCH_HOME: home }, input: path.join(dir, `${name}.jsonl`) };
}

function outputIds(home: string, job: string): string[] {
  return parseJsonl(readFileSync(path.join(home, `${job}.output.jsonl`), 'utf8')).map((l) => String(l.custom_id));
}

describe("a job's items are exactly its current inputs", () => {
  it('a line removed from the input leaves the output, and `batch status` lists it as superseded', async () => {
    const { home, env, input } = fresh('removed');
    writeFileSync(input, ['a', 'b', 'c'].map(line).join('\n') + '\n');
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', 'j', '-q'], { env })).code).toBe(0);
    writeFileSync(input, ['a', 'c'].map(line).join('\n') + '\n');
    const again = await runCliInProcess(['run', input, '--server', sim.url, '--job', 'j', '--json'], { env });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('1 prompt(s) are no longer in the inputs and leave the output');
    expect(JSON.parse(again.stdout)).toMatchObject({ total: 2, done: 2 });
    expect(outputIds(home, 'j')).toEqual(['a', 'c']);
    const status = await runCliInProcess(['status', 'j'], { env });
    expect(status.stdout).toContain('2 total: 2 done');
    expect(status.stdout).toContain('superseded  1 prompt(s) no longer in the inputs');
    expect(status.stdout).toMatch(/ {2}b {2}\(.*removed\.jsonl:2, was done\)/);
    // Put back, it is an item again (sent anew) and no longer superseded.
    writeFileSync(input, ['a', 'b', 'c'].map(line).join('\n') + '\n');
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', 'j', '-q'], { env })).code).toBe(0);
    expect(outputIds(home, 'j')).toEqual(['a', 'b', 'c']);
    expect((await runCliInProcess(['status', 'j'], { env })).stdout).not.toContain('superseded');
  });

  it('running the inputs again after fixing a malformed line sends the fixed line and drops its stale failure', async () => {
    const { home, env, input } = fresh('fixed');
    writeFileSync(input, [line('a'), '{"id": "b", "prompt": ', line('c')].join('\n') + '\n');
    const first = await runCliInProcess(['run', input, '--server', sim.url, '--job', 'j', '--json'], { env });
    expect(first.code).toBe(4);
    expect(JSON.parse(first.stdout)).toMatchObject({ total: 3, done: 2, failed: 1 });
    writeFileSync(input, ['a', 'b', 'c'].map(line).join('\n') + '\n');
    sim.resetStats();
    const again = await runCliInProcess(['run', input, '--server', sim.url, '--job', 'j', '--json'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ total: 3, done: 3, failed: 0, sent: 1 });
    expect(sim.stats().requests).toBe(1);
    expect(outputIds(home, 'j')).toEqual(['a', 'b', 'c']);
  });

  it('`batch resume JOB --retry-failed` after fixing a malformed line reads it again and sends it', async () => {
    const { home, env, input } = fresh('retry');
    writeFileSync(input, [line('a'), 'not json', line('c')].join('\n') + '\n');
    const first = await runCliInProcess(['run', input, '--server', sim.url, '--job', 'j', '-q'], { env });
    expect(first.code).toBe(4);
    expect(first.stdout).toContain('to continue: batch resume j --retry-failed');
    writeFileSync(input, ['a', 'b', 'c'].map(line).join('\n') + '\n');
    sim.resetStats();
    const resumed = await runCliInProcess(['resume', 'j', '--retry-failed', '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ total: 3, done: 3, failed: 0, sent: 1 });
    expect(sim.stats().requests).toBe(1);
    expect(outputIds(home, 'j')).toEqual(['a', 'b', 'c']);
  });

  it('refuses other inputs under an existing job name, naming both lists, unless --replace-inputs', async () => {
    const { home, env, input } = fresh('other');
    const other = path.join(dir, 'other-second.jsonl');
    writeFileSync(input, ['a', 'b'].map(line).join('\n') + '\n');
    writeFileSync(other, ['x'].map(line).join('\n') + '\n');
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', 'j', '-q'], { env })).code).toBe(0);
    sim.resetStats();
    const refused = await runCliInProcess(['run', other, '--server', sim.url, '--job', 'j', '-q'], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`[JOB_INPUTS_CHANGED]: job "j" (${path.join(home, 'j.sqlite')}) read ${input}; this run names ${other}. Pass --replace-inputs`);
    expect(sim.stats().requests).toBe(0);
    expect(outputIds(home, 'j')).toEqual(['a', 'b']);
    const replaced = await runCliInProcess(['run', other, '--server', sim.url, '--job', 'j', '--replace-inputs', '--json'], { env });
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(replaced.stdout)).toMatchObject({ total: 1, done: 1 });
    expect(outputIds(home, 'j')).toEqual(['x']);
  });
});
