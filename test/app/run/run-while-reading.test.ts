import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../../src/store/checkpoint-store.js';
import { runCliInProcess, startCliInProcess } from '../../helpers/run-cli-in-process.js';
import { startSimServer, type SimServer } from '../../sim/sim-server.js';

let dir: string;
let sim: SimServer;
/** The model of each request, in the order the simulator received them. */
let received: string[] = [];
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-run-while-reading-'));
  sim = await startSimServer({
    flavour: 'openai',
    slots: 4,
    serviceMs: 1,
    models: ['alpha', 'beta'],
    script: (_n, request) => {
      received.push(request.model);
      return undefined;
    },
  });
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

function home(name: string): { env: Record<string, string>; db: string } {
  const folder = path.join(dir, name);
  mkdirSync(folder, { recursive: true });
  return { env: { BATCH_HOME: folder }, db: path.join(folder, 'stdin.sqlite') };
}

const line = (id: string, prompt: string, model?: string): string => `${JSON.stringify({ id, prompt, ...(model ? { model } : {}) })}\n`;

/** Polls `condition` every 10 ms; fails after `ms` (generous: the machine is shared). */
async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function outputLines(env: Record<string, string>, job = 'stdin'): Array<Record<string, any>> {
  const file = path.join(env.BATCH_HOME!, `${job}.output.jsonl`);
  return readFileSync(file, 'utf8').trim().split('\n').map((text) => JSON.parse(text) as Record<string, any>);
}

describe('batch run sends prompts while it is still reading them', () => {
  it('sends the first prompts of a slow producer before it has finished writing', async () => {
    sim.resetStats();
    const { env } = home('slow');
    const stdin = new PassThrough();
    stdin.write(line('p0', 'slow 0') + line('p1', 'slow 1') + line('p2', 'slow 2'));
    const run = startCliInProcess(['run', '-', '--job', 'stdin', '--server', sim.url, '-q'], { env, stdin });
    // The producer waits for the server to see requests before it writes the rest.
    await until(() => sim.stats().completed >= 3, 'the first three answers');
    expect(sim.stats().requests).toBe(3);
    // What was read is final: the output grows with its answers while the producer still writes.
    const output = path.join(env.BATCH_HOME!, 'stdin.output.jsonl');
    await until(() => existsSync(output) && readFileSync(output, 'utf8').split('\n').length - 1 === 3, 'the first three output lines');
    for (let i = 3; i < 8; i++) stdin.write(line(`p${i}`, `slow ${i}`));
    stdin.end();
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(sim.stats().requests).toBe(8);
    expect(outputLines(env).map((l) => l.custom_id)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7']);
  });

  it('starts sending while a producer writes a line every 150 ms, long before its end or a thousand lines', async () => {
    sim.resetStats();
    const { env } = home('trickle');
    const output = path.join(env.BATCH_HOME!, 'stdin.output.jsonl');
    const stdin = new PassThrough();
    const run = startCliInProcess(['run', '-', '--job', 'stdin', '--server', sim.url, '-q'], { env, stdin });
    // The producer's pace is the scenario: a line every 150 ms, each wait below the 200 ms the
    // reader once had to wait at a stretch before sending began. It keeps writing until an answer
    // is in the output (then two lines more), or 200 lines (30 s) without one: the failure.
    const limit = 200;
    let written = 0;
    /** Lines the producer had written when the output first held an answer. */
    let writtenAtFirstAnswer: number | undefined;
    await new Promise<void>((resolve) => {
      const producer = setInterval(() => {
        if (writtenAtFirstAnswer === undefined && existsSync(output) && readFileSync(output, 'utf8').length > 0) writtenAtFirstAnswer = written;
        if (written === limit || (writtenAtFirstAnswer !== undefined && written === writtenAtFirstAnswer + 2)) {
          clearInterval(producer);
          stdin.end();
          resolve();
          return;
        }
        stdin.write(line(`t${written}`, `trickle ${written}`));
        written += 1;
      }, 150);
    });
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(writtenAtFirstAnswer).toBeDefined();
    expect(written).toBeLessThan(limit);
    expect(outputLines(env).map((l) => l.custom_id)).toEqual(Array.from({ length: written }, (_, i) => `t${i}`));
  }, 60_000);

  it('fails only the line of a duplicate custom_id found after sending began, naming both places (exit 4)', async () => {
    sim.resetStats();
    const { env } = home('late-dupe');
    const stdin = new PassThrough();
    stdin.write(line('a', 'dupe first') + line('b', 'dupe second'));
    const run = startCliInProcess(['run', '-', '--job', 'stdin', '--server', sim.url], { env, stdin });
    await until(() => sim.stats().completed >= 2, 'the first two answers');
    stdin.end(line('a', 'dupe again') + line('c', 'dupe third'));
    const result = await run.done;
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('stdin:3: duplicate custom_id "a" (first at stdin:1)');
    expect(sim.stats().byPrompt['dupe again']).toBeUndefined();
    expect(sim.stats().byPrompt['dupe third']).toBe(1);
    const lines = outputLines(env);
    expect(lines.map((l) => l.custom_id)).toEqual(['a', 'b', 'stdin:3', 'c']);
    expect(lines[0]!.error).toBeNull();
    expect(lines[2]!.error.message).toContain('duplicate custom_id "a" (first at stdin:1)');
  });

  it('stops on Ctrl-C while standard input is still open, leaving a job that resume finishes', async () => {
    sim.resetStats();
    const { env, db } = home('interrupt');
    const stdin = new PassThrough();
    stdin.write(line('q0', 'open 0') + line('q1', 'open 1'));
    const run = startCliInProcess(['run', '-', '--job', 'stdin', '--server', sim.url, '-q'], { env, stdin });
    await until(() => sim.stats().completed >= 2, 'the first two answers');
    // More is written but the producer never ends: only Ctrl-C can end this run.
    stdin.write(line('q2', 'open 2'));
    run.softStop();
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(result.stdout).toContain('batch resume');
    const store = CheckpointStore.open({ path: db, readonly: true });
    try {
      const job = store.getJob('stdin')!;
      expect(store.countByStatus(job.id).total).toBeGreaterThanOrEqual(2);
      expect(job.inputsRead).toBe(false);
    } finally {
      store.close();
    }
    const resumed = await runCliInProcess(['resume', 'stdin'], { env });
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain('stopped reading standard input before its end: it holds the prompts read until then');
    expect(outputLines(env).slice(0, 2).map((l) => l.custom_id)).toEqual(['q0', 'q1']);
    stdin.destroy();
  });

  it('serves a model whose prompts are found later with its group, not as a new group per chunk', async () => {
    sim.resetStats();
    received = [];
    const { env } = home('models');
    const stdin = new PassThrough();
    stdin.write(line('m0', 'model 0', 'alpha') + line('m1', 'model 1', 'alpha'));
    const run = startCliInProcess(['run', '-', '--job', 'stdin', '--server', sim.url, '--workers', '1', '-q'], { env, stdin });
    await until(() => sim.stats().completed >= 2, 'the first two answers');
    // beta appears first in this chunk, but alpha is loaded: its later prompts join its group.
    stdin.write(line('m2', 'model 2', 'beta') + line('m3', 'model 3', 'alpha') + line('m4', 'model 4', 'beta') + line('m5', 'model 5', 'alpha'));
    stdin.end();
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(received).toEqual(['alpha', 'alpha', 'alpha', 'alpha', 'beta', 'beta']);
    expect(outputLines(env).map((l) => l.custom_id)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  });
});

describe('a job whose run stopped before the end of its input files', () => {
  it('is read again by resume, which sends only the prompts it did not hold', async () => {
    sim.resetStats();
    const { env } = home('partial-file');
    const input = path.join(dir, 'partial.jsonl');
    writeFileSync(input, line('f0', 'file 0') + line('f1', 'file 1'));
    expect((await runCliInProcess(['run', input, '--job', 'partial', '--server', sim.url, '-q'], { env })).code).toBe(0);
    // As a run stopped after two lines leaves it: the rest of the file is not in the job.
    appendFileSync(input, line('f2', 'file 2') + line('f3', 'file 3'));
    const store = CheckpointStore.open({ path: path.join(env.BATCH_HOME!, 'partial.sqlite') });
    try {
      store.setInputsRead(store.getJob('partial')!.id, false);
    } finally {
      store.close();
    }
    const resumed = await runCliInProcess(['resume', 'partial', '-q'], { env });
    expect(resumed.code).toBe(0);
    expect(outputLines(env, 'partial').map((l) => l.custom_id)).toEqual(['f0', 'f1', 'f2', 'f3']);
    expect(sim.stats().byPrompt).toEqual({ 'file 0': 1, 'file 1': 1, 'file 2': 1, 'file 3': 1 });
    // Read to its end now: a second resume reads nothing again.
    const check = CheckpointStore.open({ path: path.join(env.BATCH_HOME!, 'partial.sqlite'), readonly: true });
    try {
      expect(check.getJob('partial')!.inputsRead).toBe(true);
    } finally {
      check.close();
    }
  });
});
