import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchStatus, type WatchClock } from '../../src/cli/commands/watch-status.js';
import type { CliIo } from '../../src/cli/io.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { jobDbPath } from '../../src/store/job-paths.js';
import { runCliInProcess, startCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';
import { chat, done, feed } from '../store/fixtures.js';

let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-status-watch-'));
  sim = await startSimServer({ slots: 2, serviceMs: 60 });
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The finished count of each `--watch` line (`HH:MM:SS job state: N/TOTAL …`). */
function finishedCounts(stdout: string): number[] {
  return [...stdout.matchAll(/^\d\d:\d\d:\d\d \S+ (\w+): (\d+)\/(\d+)/gm)].map((m) => Number(m[2]));
}

describe('batch status JOB --watch', () => {
  it('follows a run in another session with growing counts and ends by itself when the run ends', async () => {
    const input = path.join(dir, 'prompts.jsonl');
    writePrompts(input, 40, 'w');
    const home = path.join(dir, 'home');
    const run = startCliInProcess(['run', input, '--server', sim.url, '--job', 'night', '--workers', '2'], { env: { BATCH_HOME: home } });
    await run.waitFor('prompt(s) to send');
    const watch = await runCliInProcess(['status', 'night', '--watch', '--interval', '0.2'], { env: { BATCH_HOME: home } });
    expect((await run.done).code).toBe(0);
    expect(watch.code).toBe(0);
    const counts = finishedCounts(watch.stdout);
    // Several refreshes while it ran, never going back, the last one the finished job.
    expect(counts.length).toBeGreaterThanOrEqual(3);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts[0]).toBeLessThan(40);
    expect(counts.at(-1)).toBe(40);
    expect(watch.stdout).toMatch(/night running: \d+\/40/);
    expect(watch.stdout.trimEnd().split('\n').at(-1)).toMatch(/night done: 40\/40 \(100%\) 40 done, 0 failed, 0 pending/);
  });

  it('prints one JSON object per refresh with --json', async () => {
    // A finished job of its own: tests may run in any order (--sequence.shuffle).
    const home = path.join(dir, 'home-json');
    const input = path.join(dir, 'json-prompts.jsonl');
    writePrompts(input, 40, 'j');
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', 'night', '--workers', '2', '-q'], { env: { BATCH_HOME: home } })).code).toBe(0);
    const watch = await runCliInProcess(['status', 'night', '--watch', '--json'], { env: { BATCH_HOME: home } });
    expect(watch.code).toBe(0);
    const lines = watch.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ job: 'night', state: 'done', counts: { done: 40, total: 40 } });
  });

  it('refuses a job that does not exist, an interval above an hour, and --interval without --watch', async () => {
    const home = path.join(dir, 'home');
    const missing = await runCliInProcess(['status', 'nosuch', '--watch'], { env: { BATCH_HOME: home } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no job "nosuch"');
    const long = await runCliInProcess(['status', 'night', '--watch', '--interval', '7200'], { env: { BATCH_HOME: home } });
    expect(long.code).toBe(2);
    expect(long.stderr).toContain('--interval 7200: expected at most 3600 seconds');
    const alone = await runCliInProcess(['status', 'night', '--interval', '5'], { env: { BATCH_HOME: home } });
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--interval 5: the interval is between refreshes of --watch; add --watch');
  });
});

describe('the watch loop', () => {
  const io = (stdout: PassThrough, softStop = new AbortController().signal): CliIo => ({
    stdout, stderr: new PassThrough(), stdin: Readable.from([]), env: {}, cwd: dir, isTTY: false, softStop, hardStop: new AbortController().signal,
  });

  it('redraws in place on a terminal and exits with the job\'s code when it ends (4: failed prompts)', async () => {
    const db = jobDbPath(path.join(dir, 'loop'), 'tty');
    const store = CheckpointStore.open({ path: db });
    const job = store.openJob({ name: 'tty', config: {}, inputFingerprint: 'f' });
    await store.ingest(job.id, feed([chat('one', 0), chat('two', 1)]));
    // Running, by the liveness rule: locked by a process that lives (this one).
    store.acquireLock(job.id, { pid: process.pid, host: os.hostname() });
    let now = 1_000_000;
    const sleeps: number[] = [];
    // Between the refreshes the run in "another session" finishes one prompt, then fails the other and ends.
    const clock: WatchClock = {
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
        const writer = store.createResultWriter(job.id);
        if (sleeps.length === 1) writer.record(done('one', { latencyMs: 10 }));
        else writer.record({ customId: 'two', status: 'failed', attempts: 1, error: { code: 'REQUEST_REJECTED', message: 'HTTP 400: bad' }, finishedAt: now });
        await writer.close();
        if (sleeps.length === 2) store.setJobState(job.id, 'failed');
      },
    };
    const stdout = new PassThrough();
    Object.assign(stdout, { isTTY: true });
    let text = '';
    stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const code = await watchStatus({ job: 'tty', db, intervalMs: 500 }, io(stdout), clock);
    store.close();
    expect(code).toBe(4);
    expect(sleeps).toEqual([500, 500]);
    // Three views; the second and third move the cursor up over the one before and rewrite its lines.
    expect(text.match(/\x1b\[2Kjob {7}tty/g)).toHaveLength(3);
    const ups = [...text.matchAll(/\x1b\[(\d+)F/g)];
    expect(ups).toHaveLength(2);
    expect(Number(ups[0]![1])).toBe(text.slice(0, ups[0]!.index).split('\n').length - 1);
    expect(text).toContain('1/2 finished (50%): 1 done, 0 failed, 1 pending');
    expect(text).toContain('rate      2.0/s  eta 500ms');
    expect(text).toContain('tty (failed)');
    expect(text).toContain('REQUEST_REJECTED  HTTP 400: bad');
  });

  it('stops at Ctrl-C with 130, the job left as it is', async () => {
    const db = jobDbPath(path.join(dir, 'loop'), 'stop');
    const store = CheckpointStore.open({ path: db });
    const job = store.openJob({ name: 'stop', config: {}, inputFingerprint: 'f' });
    store.acquireLock(job.id, { pid: process.pid, host: os.hostname() });
    const stop = new AbortController();
    const clock: WatchClock = { now: () => 0, sleep: async () => stop.abort() };
    const stdout = new PassThrough();
    let text = '';
    stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    expect(await watchStatus({ job: 'stop', db }, io(stdout, stop.signal), clock)).toBe(130);
    expect(store.getJob('stop')!.state).toBe('running');
    store.close();
    expect(text.trimEnd().split('\n')).toHaveLength(1);
  });
});
