import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIST_SERVERS, isAlive, makeTempDir, waitUntilGone, writeFakeLlamaServer, writeFakeModel } from './server-fixtures.js';

let temp: { dir: string; cleanup: () => void };
const started: ChildProcess[] = [];
beforeEach(() => {
  temp = makeTempDir();
});
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  temp.cleanup();
});

/** Starts the built reaper around the fake server; resolves with the server's pid once reported. */
async function startReaper(env: Record<string, string>, graceMs: number): Promise<{ reaper: ChildProcess; pid: number; exited: Promise<{ code: number | null; signal: string | null }> }> {
  const binary = writeFakeLlamaServer(temp.dir, env);
  const model = writeFakeModel(temp.dir, 'm.gguf');
  const reaper = spawn(process.execPath, [join(DIST_SERVERS, 'process-reaper-main.js'), '--grace-ms', String(graceMs), '--report-fd', '3', '--', binary, '-m', model, '--port', '0'], {
    stdio: ['pipe', 'pipe', 'inherit', 'pipe'],
  });
  started.push(reaper);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => reaper.once('exit', (code, signal) => resolve({ code, signal })));
  const pid = await new Promise<number>((resolve, reject) => {
    (reaper.stdio[3] as Readable).once('data', (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { pid: number }).pid));
    reaper.once('exit', () => reject(new Error('the reaper exited before reporting a pid')));
  });
  // Wait until the server runs its own code (it prints first), so its signal handlers are set.
  await new Promise((resolve) => reaper.stdout!.once('data', resolve));
  return { reaper, pid, exited };
}

describe('process reaper', () => {
  it('stops the server when its stdin closes (the parent died)', async () => {
    const { reaper, pid, exited } = await startReaper({}, 5000);
    expect(isAlive(pid)).toBe(true);
    reaper.stdin!.end();
    const outcome = await exited;
    expect(outcome.signal).toBe('SIGTERM');
    expect(await waitUntilGone(pid)).toBe(true);
  });

  it('escalates to SIGKILL after the grace period when the server ignores SIGTERM', async () => {
    const { reaper, pid, exited } = await startReaper({ SIM_IGNORE_SIGTERM: '1' }, 200);
    reaper.kill('SIGTERM');
    const outcome = await exited;
    expect(outcome.signal).toBe('SIGKILL');
    expect(await waitUntilGone(pid)).toBe(true);
  });

  it('exits with the server exit code when the server exits on its own', async () => {
    const binary = writeFakeLlamaServer(temp.dir);
    const reaper = spawn(process.execPath, [join(DIST_SERVERS, 'process-reaper-main.js'), '--', binary, '-m', join(temp.dir, 'missing.gguf'), '--port', '0'], { stdio: ['pipe', 'ignore', 'pipe'] });
    started.push(reaper);
    let stderr = '';
    reaper.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => reaper.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('failed to open');
  });

  it('exits 127 with a message when the command cannot be started', async () => {
    const reaper = spawn(process.execPath, [join(DIST_SERVERS, 'process-reaper-main.js'), '--', join(temp.dir, 'no-such-binary')], { stdio: ['pipe', 'ignore', 'pipe'] });
    started.push(reaper);
    let stderr = '';
    reaper.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => reaper.once('exit', resolve));
    expect(code).toBe(127);
    expect(stderr).toContain(`cannot start ${join(temp.dir, 'no-such-binary')}`);
  });
});
