import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { readDaemonRecord } from '../../src/daemon/daemon-record.js';
import { requestLocal } from '../../src/servers/request-local.js';
import { pidsMatching, waitForNoProcesses } from '../helpers/processes.js';
import { NO_LLAMA_SERVER, realLlamaServer } from '../helpers/real-llama-server.js';
import { parseJsonl, runCliProcess, startCliProcess } from '../helpers/run-cli-process.js';
import { writePrompts } from '../helpers/write-prompts.js';

// The daemon as users run it (`batch up` detaches it; the test stops it by pid), with the real
// llama-server: only the real binary proves the daemon's servers answer what runs send.
const binary = realLlamaServer();
if (binary === undefined) console.warn(NO_LLAMA_SERVER);

let dir: string;
let model: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-daemon-llama-'));
  model = path.join(dir, 'tiny.gguf');
  await writeTinyLlamaGguf(model, { contextLength: 2048 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Whether `pid` runs (a zombie does not: a daemon killed outright waits for its parent to reap it). */
function isRunning(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Daemons a test started: killed at its end whatever happened (their servers' reapers stop the rest). */
const daemons = new Set<number>();
afterEach(async () => {
  for (const pid of daemons) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Stopped by the test.
    }
  }
  daemons.clear();
  expect(await waitForNoProcesses(dir)).toEqual([]);
});

/** A JSONL file of `count` prompts named after `name`. */
function prompts(name: string, count: number): string {
  const file = path.join(dir, `${name}.jsonl`);
  writePrompts(file, count, name);
  return file;
}

function cli(home: string, args: readonly string[], timeoutMs = 120_000) {
  return runCliProcess(args, { env: { BATCH_HOME: home }, cwd: dir, timeoutMs });
}

async function up(home: string, ...extra: string[]): Promise<{ pid: number; url: string; key: string }> {
  const result = await cli(home, ['up', '--model', model, '--engine', 'llama-server', '--llama-server', binary!, '--threads', '1', ...extra]);
  expect(result.code, result.stderr).toBe(0);
  const record = readDaemonRecord(home)!;
  daemons.add(record.pid);
  expect(result.stdout.trim()).toBe(record.url);
  return record;
}

describe.skipIf(binary === undefined)('the daemon with the real llama-server', () => {
  it('up, a run that loads the model, a second run with 0 loads, ps, a second up refused, 401 without the key, down with nothing left', async () => {
    const home = path.join(dir, 'home-a');
    const daemon = await up(home);
    // Only batch: /health is open, everything else needs the key.
    expect((await requestLocal(`${daemon.url}/health`, { timeoutMs: 2000 })).statusCode).toBe(200);
    const chat = { method: 'POST' as const, json: { model, messages: [{ role: 'user', content: 'hi' }] }, timeoutMs: 5000 };
    expect((await requestLocal(`${daemon.url}/v1/chat/completions`, chat)).statusCode).toBe(401);
    expect((await requestLocal(`${daemon.url}/v1/chat/completions`, { ...chat, headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    expect((await requestLocal(`${daemon.url}/batch/v1/status`, { timeoutMs: 2000 })).statusCode).toBe(401);

    const again = await cli(home, ['up', '--model', model]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`a daemon already runs in ${home}: pid ${daemon.pid} at ${daemon.url}`);
    expect(again.stdout.trim()).toBe(daemon.url);

    const first = await cli(home, ['run', prompts('first', 6), '--model', model, '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr.split('\n')[0]).toContain(`using the batch daemon at ${daemon.url} (pid ${daemon.pid})`);
    expect(JSON.parse(first.stdout)).toMatchObject({ done: 6, failed: 0, modelLoads: [{ model: 'tiny', loads: 1 }] });

    // --stream and --stall-timeout reach the daemon's servers too: answers come streamed through it.
    const second = await cli(home, ['run', prompts('second', 5), '--model', model, '--json', '--stream', '--stall-timeout', '30']);
    expect(second.code, second.stderr).toBe(0);
    const summary = JSON.parse(second.stdout);
    expect(summary).toMatchObject({ done: 5, failed: 0, modelLoads: [] });
    expect(summary.ttftP50Ms).toBeGreaterThan(0);
    const sent = JSON.parse(first.stdout).sent + JSON.parse(first.stdout).retries + summary.sent + summary.retries;
    expect(summary.insights.loads.loads).toBe(0);

    const ps = await cli(home, ['ps', '--json']);
    const status = JSON.parse(ps.stdout);
    expect(status).toMatchObject({ running: true, pid: daemon.pid, url: daemon.url, models: [{ model: 'tiny', state: 'ready', loads: 1, requestsServed: sent, slotsBusy: 0 }] });
    const serverPid = status.models[0].pid as number;
    expect(isRunning(serverPid)).toBe(true);
    expect(status.models[0].rssBytes).toBeGreaterThan(0);
    expect((await cli(home, ['ps'])).stdout).toMatch(/tiny\s+ready\s+\d+\s+0\/4/);
    // The key is in a file only its owner reads, and in no command line.
    expect(readFileSync(`/proc/${daemon.pid}/cmdline`, 'utf8')).not.toContain(daemon.key);

    const down = await cli(home, ['down']);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain('daemon stopped');
    expect(isRunning(daemon.pid)).toBe(false);
    expect(isRunning(serverPid)).toBe(false);
    expect((await cli(home, ['ps'])).stdout).toContain('no daemon runs');
  });

  it('kill -9 of the daemon with a run attached: no server left, the run pauses and ends when a new `batch up` answers, every prompt answered once', async () => {
    const home = path.join(dir, 'home-b');
    const daemon = await up(home, '--slots', '2');
    const inputs = prompts('night', 60);
    const run = startCliProcess(['run', inputs, '--model', model, '--max-down', '120', '--json'], { env: { BATCH_HOME: home }, cwd: dir, timeoutMs: 180_000 });
    // Killed mid-run: some answers are in, most are not.
    await pollStatus(home, (status) => (status.models[0]?.requestsServed ?? 0) >= 8);
    process.kill(daemon.pid, 'SIGKILL');
    // Within 5 s: the servers' reapers stop them once the daemon's end of their pipe closes.
    expect(await waitForNoProcesses(`-m ${model}`, 100)).toEqual([]);
    await run.waitFor('is down since');
    expect(pidsMatching(`-m ${model}`)).toEqual([]);
    // The stale record is taken over: the same address and key, so the run finds the new daemon.
    const next = await up(home, '--slots', '2');
    expect(next.pid).not.toBe(daemon.pid);
    expect(next.url).toBe(daemon.url);
    expect(next.key).toBe(daemon.key);
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ total: 60, done: 60, failed: 0 });
    const job = JSON.parse(result.stdout).job as string;
    const lines = parseJsonl(readFileSync(path.join(home, `${job}.output.jsonl`), 'utf8'));
    expect(lines).toHaveLength(60);
    expect(new Set(lines.map((line) => line.custom_id)).size).toBe(60);
    expect((await cli(home, ['down', '--now'])).code).toBe(0);
  });

  it('two runs at once on one model share its one server: each gets a fair share of its slots while both run', async () => {
    const home = path.join(dir, 'home-d');
    await up(home, '--slots', '2');
    // Run b asks for twice the workers a does (a has the default, twice the slots): the slots still go to them in turn.
    const runs = [
      startCliProcess(['run', prompts('share-a', 30), '--model', model, '--json'], { env: { BATCH_HOME: home }, cwd: dir }),
      startCliProcess(['run', prompts('share-b', 30), '--model', model, '--json', '-w', '8'], { env: { BATCH_HOME: home }, cwd: dir }),
    ];
    const results = await Promise.all(runs.map((run) => run.done));
    const finishes = results.map((result) => {
      expect(result.code, result.stderr).toBe(0);
      const summary = JSON.parse(result.stdout);
      expect(summary).toMatchObject({ done: 30, failed: 0 });
      const db = new Database(summary.database, { readonly: true });
      try {
        return (db.prepare('SELECT finished_at FROM items ORDER BY finished_at').pluck().all() as number[]);
      } finally {
        db.close();
      }
    });
    const status = JSON.parse((await cli(home, ['ps', '--json'])).stdout);
    // One server for both runs, loaded once.
    expect(status.models).toMatchObject([{ model: 'tiny', loads: 1, requestsServed: 60 }]);
    // While both ran (from the later first answer to the earlier last one), each got at least 40% of the answers.
    const from = Math.max(finishes[0]![0]!, finishes[1]![0]!);
    const to = Math.min(finishes[0]!.at(-1)!, finishes[1]!.at(-1)!);
    const within = finishes.map((times) => times.filter((t) => t >= from && t <= to).length);
    const total = within[0]! + within[1]!;
    expect(total).toBeGreaterThan(10);
    for (const count of within) expect(count / total).toBeGreaterThanOrEqual(0.4);
    expect((await cli(home, ['down'])).code).toBe(0);
  });

  it('--foreground: logs to stderr, serves until SIGTERM, then stops its servers and exits 0', async () => {
    const home = path.join(dir, 'home-e');
    const daemon = startCliProcess(['up', '--foreground', '--model', model, '--engine', 'llama-server', '--llama-server', binary!, '--threads', '1'], { env: { BATCH_HOME: home }, cwd: dir });
    await daemon.waitFor('listening on');
    const run = await cli(home, ['run', prompts('fg', 3), '--model', model, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`(pid ${daemon.child.pid})`);
    daemon.child.kill('SIGTERM');
    const ended = await daemon.done;
    expect(ended.code).toBe(0);
    expect(ended.stderr).toContain('model tiny loaded');
    expect(ended.stderr).toContain('daemon stopped');
    expect(pidsMatching(`-m ${model}`)).toEqual([]);
    expect((await cli(home, ['ps'])).stdout).toContain('no daemon runs');
  });

  it('loads on demand for any OpenAI client (503 "Loading model" meanwhile), unloads after --idle, and ends with --exit-when-idle', async () => {
    const home = path.join(dir, 'home-f');
    const daemon = await up(home, '--idle', '2s', '--exit-when-idle');
    const headers = { authorization: `Bearer ${daemon.key}` };
    const chat = { method: 'POST' as const, json: { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }, timeoutMs: 10_000, headers };
    const first = await requestLocal(`${daemon.url}/v1/chat/completions`, chat);
    expect(first.statusCode).toBe(503);
    expect(JSON.parse(first.body).error.message).toBe('Loading model');
    let answer = first;
    for (let i = 0; i < 200 && answer.statusCode === 503; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      answer = await requestLocal(`${daemon.url}/v1/chat/completions`, chat);
    }
    expect(answer.statusCode, answer.body).toBe(200);
    expect(JSON.parse(answer.body).choices).toHaveLength(1);
    const models = JSON.parse((await requestLocal(`${daemon.url}/v1/models`, { timeoutMs: 2000, headers })).body);
    expect(models.data).toEqual([{ id: 'tiny', object: 'model', owned_by: 'batch', loaded: true }]);
    const unknown = await requestLocal(`${daemon.url}/v1/chat/completions`, { ...chat, json: { ...chat.json, model: 'nope' } });
    expect(unknown.statusCode).toBe(404);
    // Idle for 2 s: the model is unloaded; with nothing loaded for 2 s more, the daemon ends.
    for (let i = 0; i < 200 && isRunning(daemon.pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(isRunning(daemon.pid)).toBe(false);
    const log = readFileSync(path.join(home, 'daemon/daemon.log'), 'utf8');
    expect(log).toContain('model tiny unloaded: no request for 2 s (--idle)');
    expect(log).toContain('--exit-when-idle');
    expect(pidsMatching(`-m ${model}`)).toEqual([]);
  });

  it('two runs on two models with room for one take turns by group: the model a run is inside is never evicted, the other run says it waits', async () => {
    const home = path.join(dir, 'home-g');
    const other = path.join(dir, 'other.gguf');
    await writeTinyLlamaGguf(other, { contextLength: 2048 });
    await up(home, '--max-models', '1', '--slots', '1');
    const inputsA = path.join(dir, 'turns-a.jsonl');
    // Long enough that b asks while a is inside its group.
    writePrompts(inputsA, 400, 'turns-a', () => ({ max_tokens: 128 }));
    const runA = startCliProcess(['run', inputsA, '--model', model, '--json'], { env: { BATCH_HOME: home }, cwd: dir, timeoutMs: 180_000 });
    await pollStatus(home, (status) => (status.models[0]?.requestsServed ?? 0) >= 2);
    const runB = startCliProcess(['run', prompts('turns-b', 3), '--model', other, '--json'], { env: { BATCH_HOME: home }, cwd: dir, timeoutMs: 180_000 });
    await runB.waitFor('model other waits for room in the daemon');
    const [a, b] = await Promise.all([runA.done, runB.done]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    // Each model loaded once: b's load waited for a's group to end instead of evicting it.
    const history = JSON.parse((await cli(home, ['ps', '--json'])).stdout).history as Array<{ model: string; loads: number }>;
    expect(history.map((m) => [m.model, m.loads]).sort()).toEqual([['other', 1], ['tiny', 1]]);
    const finishedA = Math.max(...(new Database(JSON.parse(a.stdout).database, { readonly: true }).prepare('SELECT finished_at FROM items').pluck().all() as number[]));
    const firstB = Math.min(...(new Database(JSON.parse(b.stdout).database, { readonly: true }).prepare('SELECT finished_at FROM items').pluck().all() as number[]));
    expect(firstB).toBeGreaterThanOrEqual(finishedA);
    expect((await cli(home, ['down'])).code).toBe(0);
  });

  it('two `batch up` at once in one batch home: one daemon, both exit 0 with its address', async () => {
    const home = path.join(dir, 'home-h');
    const args = ['up', '--model', model, '--engine', 'llama-server', '--llama-server', binary!, '--threads', '1'];
    const [a, b] = await Promise.all([cli(home, args), cli(home, args)]);
    const record = readDaemonRecord(home)!;
    daemons.add(record.pid);
    expect([a.code, b.code], `${a.stderr}\n${b.stderr}`).toEqual([0, 0]);
    expect([a.stdout.trim(), b.stdout.trim()]).toEqual([record.url, record.url]);
    expect(pidsMatching('daemon-main.js').filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(home))).toEqual([record.pid]);
    expect((await cli(home, ['down'])).code).toBe(0);
  });

  it('--no-daemon: a run starts its own server although a daemon runs', async () => {
    const home = path.join(dir, 'home-c');
    await up(home);
    const result = await cli(home, ['run', prompts('own', 2), '--model', model, '--no-daemon', '--engine', 'llama-server', '--llama-server', binary!, '--threads', '1', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('using the batch daemon');
    expect(result.stderr).toContain('managed llama-server');
    expect(JSON.parse(result.stdout)).toMatchObject({ done: 2, modelLoads: [{ loads: 1 }] });
    expect(JSON.parse((await cli(home, ['ps', '--json'])).stdout).models).toEqual([]);
    expect((await cli(home, ['down'])).code).toBe(0);
  });
});

/** Polls `batch ps --json` (bounded) until `done` holds. */
async function pollStatus(home: string, done: (status: { models: Array<{ requestsServed: number }> }) => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ps = await runCliProcess(['ps', '--json'], { env: { BATCH_HOME: home }, timeoutMs: 10_000 });
    if (ps.code === 0 && done(JSON.parse(ps.stdout))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the daemon never reached the state waited for');
}
