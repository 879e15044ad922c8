import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { jobDbPath } from '../../src/store/job-paths.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { chat, done, feed } from '../store/fixtures.js';

let dir: string;
let env: Record<string, string>;

/** The pid of a process that has exited: what a lock holds after `kill -9` of its run. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  expect(child.status).toBe(0);
  return child.pid;
}

/**
 * A job as `kill -9` of its run leaves it: state `running`, locked by a pid that is gone on this
 * host, one prompt done and two still marked in flight.
 */
async function writeKilledJob(lockPid: number, lockHost = hostname()): Promise<void> {
  const store = CheckpointStore.open({ path: jobDbPath(env.BATCH_HOME!, 'killed') });
  const job = store.openJob({ name: 'killed', config: {}, inputFingerprint: 'f' });
  await store.ingest(job.id, feed([chat('one', 0), chat('two', 1), chat('three', 2)]));
  store.acquireLock(job.id, { pid: lockPid, host: lockHost });
  const writer = store.createResultWriter(job.id);
  writer.record(done('one', { latencyMs: 100, model: 'm1' }));
  writer.markRunning('two');
  writer.markRunning('three');
  await writer.close();
  store.close();
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'batch-cli-liveness-'));
  env = { BATCH_HOME: path.join(dir, 'home') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a job whose run was killed (-9): one rule for jobs, status and report', () => {
  it('all three say interrupted, and its in-flight prompts are pending', async () => {
    await writeKilledJob(deadPid());
    const jobs = await runCliInProcess(['jobs', '--json'], { env });
    expect(JSON.parse(jobs.stdout)).toEqual([expect.objectContaining({ name: 'killed', state: 'interrupted', pending: 2 })]);
    const status = await runCliInProcess(['status', 'killed'], { env });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('job         killed (interrupted)');
    expect(status.stdout).toContain('3 total: 1 done, 0 failed, 2 pending, 0 running');
    const statusJson = JSON.parse((await runCliInProcess(['status', 'killed', '--json'], { env })).stdout) as { state: string; counts: { running: number; pending: number } };
    expect(statusJson).toMatchObject({ state: 'interrupted', counts: { running: 0, pending: 2 } });
    const report = await runCliInProcess(['report', 'killed'], { env });
    expect(report.code).toBe(0);
    expect(report.stdout).toContain('job         killed (interrupted)');
    const reportJson = JSON.parse((await runCliInProcess(['report', 'killed', '--json'], { env })).stdout) as { job: { state: string }; stats: { counts: { running: number } } };
    expect(reportJson).toMatchObject({ job: { state: 'interrupted' }, stats: { counts: { running: 0 } } });
  });

  it('a job whose lock is held by a live process stays running everywhere', async () => {
    await writeKilledJob(process.pid);
    expect(JSON.parse((await runCliInProcess(['jobs', '--json'], { env })).stdout)).toEqual([expect.objectContaining({ state: 'running' })]);
    expect((await runCliInProcess(['status', 'killed'], { env })).stdout).toContain('killed (running)');
    expect((await runCliInProcess(['status', 'killed'], { env })).stdout).toContain('2 running');
    expect((await runCliInProcess(['report', 'killed'], { env })).stdout).toContain('killed (running)');
  });

  it('a lock taken on another host cannot be checked from here: believed', async () => {
    await writeKilledJob(deadPid(), 'some-other-host');
    expect(JSON.parse((await runCliInProcess(['jobs', '--json'], { env })).stdout)).toEqual([expect.objectContaining({ state: 'running' })]);
    expect((await runCliInProcess(['status', 'killed'], { env })).stdout).toContain('killed (running)');
  });
});
