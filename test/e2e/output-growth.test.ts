import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll-until.js';
import { runCliProcess, startCliProcess } from '../helpers/run-cli-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-e2e-output-'));
  sim = await startSimServer({ slots: 16, serviceMs: 40 });
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const total = 1200;

/** The output's lines, checking that each is whole (the file ends with a line break). */
function wholeLines(file: string): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

/**
 * The complete lines of a file another process may be appending to right now: a reader can see
 * an append half done (a write to a regular file is not atomic for readers), so the tail is
 * left out until its line break lands.
 */
function completeLines(file: string): number {
  if (!existsSync(file)) return 0;
  const text = readFileSync(file, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').length - 1;
}

describe('the output file as answers land', () => {
  it('grows during the run; a kill -9 leaves whole lines in input order; resume ends with the bytes of a full rewrite and of an uninterrupted run', async () => {
    const file = path.join(dir, 'prompts.jsonl');
    writePrompts(file, total, 'g');
    const out = path.join(dir, 'killed.jsonl');
    const args = (o: string) => ['run', file, '--server', sim.url, '--workers', '16', '--job', 'grow', '--out', o, '--quiet'];
    const env = { BATCH_HOME: path.join(dir, 'home-killed') };

    const run = startCliProcess(args(out), { env });
    // Seen before the run ends: lines in the file while most prompts are still unanswered.
    await pollUntil(() => completeLines(out) > 0 || run.child.exitCode !== null, 'the first appended lines', 6000);
    expect(run.child.exitCode).toBeNull();
    expect(sim.stats().completed).toBeLessThan(total);
    await pollUntil(() => sim.stats().completed >= total / 2 || run.child.exitCode !== null, 'half the answers', 6000);
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');

    const left = wholeLines(out).map((line) => JSON.parse(line) as { custom_id: string });
    expect(left.length).toBeGreaterThan(0);
    expect(left.length).toBeLessThan(total);
    // The finished prefix: exactly the first prompts, in input order.
    expect(left.map((line) => line.custom_id)).toEqual(Array.from({ length: left.length }, (_, i) => `g${i}`));

    const resumed = await runCliProcess(['resume', 'grow', '--quiet'], { env });
    expect(resumed.code).toBe(0);
    // Byte for byte what a full rewrite of the job gives.
    const rewritten = path.join(dir, 'rewritten.jsonl');
    expect((await runCliProcess(['export', 'grow', '--out', rewritten], { env })).code).toBe(0);
    expect(readFileSync(out).equals(readFileSync(rewritten))).toBe(true);

    const clean = path.join(dir, 'clean.jsonl');
    const cleanRun = startCliProcess(args(clean), { env: { BATCH_HOME: path.join(dir, 'home-clean') } });
    await pollUntil(() => completeLines(clean) > 0 || cleanRun.child.exitCode !== null, 'the clean run\'s first lines', 6000);
    const grownInPlace = statSync(clean).ino;
    expect((await cleanRun.done).code).toBe(0);
    // Completed by appending, not by writing the whole file again at the end.
    expect(statSync(clean).ino).toBe(grownInPlace);
    expect(wholeLines(clean)).toHaveLength(total);
    // The simulator stamps each answer with its time and a per-server id (also its request id); all else is the same bytes.
    const unstamped = (text: string): string => text.replace(/"request_id":"chatcmpl-\d+","body":\{"id":"chatcmpl-\d+","object":"chat.completion","created":\d+/g, '');
    const resumedText = readFileSync(out, 'utf8');
    expect(unstamped(resumedText)).not.toBe(resumedText);
    expect(unstamped(resumedText)).toBe(unstamped(readFileSync(clean, 'utf8')));
  });
});
