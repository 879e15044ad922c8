import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/sim-process.js';

/**
 * bin/batch.js sets the heap settings at process start, on node's command line, instead of
 * changing V8's flags at run time: `batch run` and `batch resume` as a program, /bin/sh execs node
 * with them (one process, the pid the caller spawned); run as `node bin/batch.js`, it works with V8's defaults. A preload
 * (NODE_OPTIONS) records what the batch process was started with.
 */
let dir: string;
let preload: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bin-flags-'));
  preload = path.join(dir, 'record.cjs');
  writeFileSync(preload, "require('node:fs').writeFileSync(process.env.RECORD_FILE, JSON.stringify({ pid: process.pid, execArgv: process.execArgv }));\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function startedWith(command: string, args: readonly string[]): Promise<{ readonly code: number | null; readonly spawnedPid: number | undefined; readonly pid: number; readonly execArgv: string[]; readonly stdout: string }> {
  const record = path.join(dir, `record-${process.hrtime.bigint()}.json`);
  const child = spawn(command, args, { env: { ...process.env, RECORD_FILE: record, NODE_OPTIONS: `--require ${preload}` }, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', (exitCode) => resolve(exitCode)));
  const recorded = JSON.parse(readFileSync(record, 'utf8')) as { pid: number; execArgv: string[] };
  return { code, spawnedPid: child.pid, stdout, ...recorded };
}

describe('the bin starts node with its heap settings', () => {
  it('`batch run` as a program, and through a symlink as npm links it: node has the flags on its command line and is the process spawned', async () => {
    const link = path.join(dir, 'batch');
    symlinkSync(path.join(repoRoot, 'bin/batch.js'), link);
    for (const bin of [path.join(repoRoot, 'bin/batch.js'), link]) {
      const run = await startedWith(bin, ['run', '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Usage: batch run');
      expect(run.execArgv).toEqual(expect.arrayContaining(['--max-semi-space-size=4', '--heap-growing-percent=50']));
      // exec: no shell left between the caller and node (a kill -9 of the pid reaches batch).
      expect(run.pid).toBe(run.spawnedPid);
    }
    const resume = await startedWith(link, ['resume', '--help']);
    expect(resume.execArgv).toEqual(expect.arrayContaining(['--max-semi-space-size=4', '--heap-growing-percent=50']));
  });

  it('other commands start node without V8 flags (each costs start-up), still as the process spawned', async () => {
    const run = await startedWith(path.join(repoRoot, 'bin/batch.js'), ['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(run.execArgv).toEqual([]);
    expect(run.pid).toBe(run.spawnedPid);
  });

  it('run as `node bin/batch.js`, the same program works with V8 defaults', async () => {
    const run = await startedWith(process.execPath, [path.join(repoRoot, 'bin/batch.js'), '--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(run.execArgv).not.toContain('--max-semi-space-size=4');
  });
});
