import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { jobDbPath } from '../../src/store/job-paths.js';
import { parseJsonl, runCliProcess as runCli } from '../helpers/run-cli-process.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

/**
 * What `batch` does with an output path that is not a regular file: a symbolic link is followed,
 * a character device or a FIFO with a reader is written in place, a FIFO nobody reads, a folder
 * or a socket is refused before anything is sent; a full device fails clearly, losing nothing.
 */
let dir: string;
let home: string;
let sim: SimServer;
const prompts = 5;
const isRoot = process.getuid?.() === 0;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-output-kinds-'));
  home = path.join(dir, 'home');
  sim = await startSimServer({ flavour: 'openai', slots: 4, serviceMs: 1 });
  writeFileSync(path.join(dir, 'in.jsonl'), Array.from({ length: prompts }, (_, i) => `${JSON.stringify({ id: `p${i}`, prompt: `kinds ${i}` })}\n`).join(''));
  // The job every export below writes out.
  const made = await runCli(['run', 'in.jsonl', '--job', 'kinds', '--server', sim.url, '-q'], { cwd: dir, env: { BATCH_HOME: home } });
  expect(made.code, made.stderr).toBe(0);
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => ({ BATCH_HOME: home });
const expectedIds = Array.from({ length: prompts }, (_, i) => `p${i}`);

function fifo(name: string): string {
  const file = path.join(dir, name);
  execFileSync('mkfifo', [file]);
  return file;
}

/** A reader of `file` (a FIFO): what it read once the writer closed. */
function readerOf(file: string): Promise<string> {
  const cat = spawn('cat', [file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  cat.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return once(cat, 'close').then(() => text);
}

function doneCount(job: string): number {
  const store = CheckpointStore.open({ path: jobDbPath(home, job), readonly: true });
  try {
    return store.countByStatus(store.getJob(job)!.id).done;
  } finally {
    store.close();
  }
}

describe('an output path that is a symbolic link is followed, never replaced', () => {
  it('batch export --out writes the file the link leads to; the link stays a link', async () => {
    mkdirSync(path.join(dir, 'real'), { recursive: true });
    const target = path.join(dir, 'real', 'target.jsonl');
    writeFileSync(target, 'stale\n');
    const link = path.join(dir, 'export-link.jsonl');
    symlinkSync(target, link);
    const result = await runCli(['export', 'kinds', '--out', link], { cwd: dir, env: env() });
    expect(result.code, result.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(parseJsonl(readFileSync(target, 'utf8')).map((line) => line.custom_id)).toEqual(expectedIds);
    expect(readdirSync(path.join(dir, 'real'))).toEqual(['target.jsonl']);
  });

  it('batch run --out and --metrics, and report --html, write through their links', async () => {
    const target = path.join(dir, 'real-run', 'run.jsonl');
    const metricsTarget = path.join(dir, 'real-run', 'metrics.jsonl');
    const htmlTarget = path.join(dir, 'real-run', 'report.html');
    // Tests may run in any order (--sequence.shuffle): this one makes its own folder.
    mkdirSync(path.join(dir, 'real-run'), { recursive: true });
    for (const file of [target, metricsTarget, htmlTarget]) writeFileSync(file, '');
    symlinkSync(target, path.join(dir, 'run-link.jsonl'));
    symlinkSync(metricsTarget, path.join(dir, 'metrics-link.jsonl'));
    symlinkSync(htmlTarget, path.join(dir, 'report-link.html'));
    const run = await runCli(['run', 'in.jsonl', '--job', 'linked', '--server', sim.url, '-q', '--out', 'run-link.jsonl', '--metrics', 'metrics-link.jsonl'], { cwd: dir, env: env() });
    expect(run.code, run.stderr).toBe(0);
    const report = await runCli(['report', 'linked', '--html', 'report-link.html'], { cwd: dir, env: env() });
    expect(report.code, report.stderr).toBe(0);
    for (const link of ['run-link.jsonl', 'metrics-link.jsonl', 'report-link.html']) expect(lstatSync(path.join(dir, link)).isSymbolicLink()).toBe(true);
    expect(parseJsonl(readFileSync(target, 'utf8')).map((line) => line.custom_id)).toEqual(expectedIds);
    expect(readFileSync(metricsTarget, 'utf8')).not.toBe('');
    expect(readFileSync(htmlTarget, 'utf8')).toContain('<html');
  });
});

describe('an output path that is a FIFO', () => {
  it('with a reader, is streamed to: the reader gets every line once (export and run)', async () => {
    const exportFifo = fifo('export.fifo');
    const exported = readerOf(exportFifo);
    const result = await runCli(['export', 'kinds', '--out', exportFifo], { cwd: dir, env: env(), timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(parseJsonl(await exported).map((line) => line.custom_id)).toEqual(expectedIds);
    expect(statSync(exportFifo).isFIFO()).toBe(true);

    const runFifo = fifo('run.fifo');
    const streamed = readerOf(runFifo);
    const run = await runCli(['run', 'in.jsonl', '--job', 'fifo', '--server', sim.url, '-q', '--out', runFifo], { cwd: dir, env: env(), timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(parseJsonl(await streamed).map((line) => line.custom_id)).toEqual(expectedIds);
    expect(statSync(runFifo).isFIFO()).toBe(true);
  });

  it('with no reader, is refused before anything is sent, instead of waiting forever in open()', async () => {
    const lonely = fifo('lonely.fifo');
    const before = sim.stats().requests;
    const run = await runCli(['run', 'in.jsonl', '--job', 'lonely', '--server', sim.url, '-q', '--out', lonely], { cwd: dir, env: env(), timeoutMs: 30_000 });
    expect(run.signal).toBeNull();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`--out ${lonely} is a FIFO (named pipe) that nobody reads`);
    expect(sim.stats().requests).toBe(before);
    for (const args of [['export', 'kinds', '--out', lonely], ['report', 'kinds', '--html', lonely]]) {
      const refused = await runCli(args, { cwd: dir, env: env(), timeoutMs: 30_000 });
      expect(refused.signal).toBeNull();
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('that nobody reads');
    }
    expect(statSync(lonely).isFIFO()).toBe(true);
  });
});

describe('an output path in a place where no folder can be made', () => {
  it('--out /proc/nope/x.jsonl is refused before sending, instead of spinning in mkdir', async () => {
    const before = sim.stats().requests;
    const run = await runCli(['run', 'in.jsonl', '--job', 'proc', '--server', sim.url, '-q', '--out', '/proc/nope/x.jsonl'], { cwd: dir, env: env(), timeoutMs: 30_000 });
    expect(run.signal).toBeNull();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--out /proc/nope/x.jsonl: the folder /proc/nope cannot be created in /proc');
    expect(sim.stats().requests).toBe(before);
  });

  it('BATCH_LLAMA_CPP_DIR=/proc/nope fails `batch setup llama-server` with a clear error', async () => {
    const setup = await runCli(['setup', 'llama-server', '--backend', 'cpu'], { cwd: dir, env: { ...env(), BATCH_LLAMA_CPP_DIR: '/proc/nope' }, timeoutMs: 30_000 });
    expect(setup.signal).toBeNull();
    expect(setup.code).toBe(3);
    expect(setup.stderr).toContain('[LLAMA_SERVER_BUILD_FAILED]: cannot create the folder /proc/nope');
  });
});

describe('an output path that is a folder or a socket', () => {
  it('is refused, naming the path and what it is', async () => {
    const socketPath = path.join(dir, 'out.sock');
    const server = net.createServer().listen(socketPath);
    await once(server, 'listening');
    try {
      const refused = await runCli(['export', 'kinds', '--out', socketPath], { cwd: dir, env: env(), timeoutMs: 30_000 });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`--out ${socketPath} is a socket, not a file`);
      expect(lstatSync(socketPath).isSocket()).toBe(true);
    } finally {
      server.close();
    }
    const folder = await runCli(['report', 'kinds', '--html', dir], { cwd: dir, env: env(), timeoutMs: 30_000 });
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain(`--html ${dir} is a folder, not a file`);
  });
});

describe.runIf(isRoot)('an output path that is a character device (as root, who could replace it)', () => {
  it('is written in place: a device of the test first, then the machine\'s /dev/null', async () => {
    // A private /dev/null first: if it were replaced, the machine's is never tried.
    const device = path.join(dir, 'null');
    execFileSync('mknod', [device, 'c', '1', '3']);
    for (const out of [device, '/dev/null']) {
      const exported = await runCli(['export', 'kinds', '--out', out], { cwd: dir, env: env() });
      expect(exported.code, exported.stderr).toBe(0);
      expect(statSync(out).isCharacterDevice()).toBe(true);
      const run = await runCli(['run', 'in.jsonl', '--job', `null-${path.basename(out)}`, '--server', sim.url, '-q', '--out', out], { cwd: dir, env: env() });
      expect(run.code, run.stderr).toBe(0);
      expect(statSync(out).isCharacterDevice()).toBe(true);
      expect(readdirSync(path.dirname(out)).filter((name) => name.startsWith('null.'))).toEqual([]);
    }
  });

  it('that is full (/dev/full) fails with STORE_WRITE_FAILED, exit 3, and the job database keeps every answer', async () => {
    const device = path.join(dir, 'full');
    execFileSync('mknod', [device, 'c', '1', '7']);
    for (const out of [device, '/dev/full']) {
      const job = `full-${path.basename(path.dirname(out))}`;
      const run = await runCli(['run', 'in.jsonl', '--job', job, '--server', sim.url, '-q', '--out', out], { cwd: dir, env: env() });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(`[STORE_WRITE_FAILED]: cannot write output file ${out}`);
      expect(run.stderr).toContain('ENOSPC');
      expect(statSync(out).isCharacterDevice()).toBe(true);
      expect(doneCount(job)).toBe(prompts);
      const exported = await runCli(['export', job, '--out', out], { cwd: dir, env: env() });
      expect(exported.code).toBe(3);
      expect(exported.stderr).toContain('ENOSPC');
      expect(statSync(out).isCharacterDevice()).toBe(true);
    }
  });
});
