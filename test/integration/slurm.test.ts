import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll-until.js';
import { findSlurm, startPrivateSlurm, type PrivateSlurm } from '../helpers/private-slurm.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { repoRoot } from '../helpers/sim-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

// `batch` as a task of a real Slurm: array tasks that find their shard themselves, a requeued task
// that continues its own shard, and the merge as a dependent job: the scripts of examples/slurm/ as shipped.
const haveSlurm = findSlurm();
if (!haveSlurm) console.warn('SKIP: Slurm (slurm-wlm, munge) is not installed: the Slurm tests did not run (`.ci/run` installs it)');
// Slurm's daemons run as root here (SlurmUser=root), as CI does.
const asRoot = process.getuid?.() === 0;

let dir: string;
let slurm: PrivateSlurm;
beforeAll(async () => {
  if (!haveSlurm || !asRoot) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-slurm-test-'));
  chmodSync(dir, 0o755);
  slurm = await startPrivateSlurm();
});
afterAll(async () => {
  await slurm?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const examples = path.join(repoRoot, 'examples', 'slurm');
/** The example scripts as shipped, less what this one-node cluster lacks: a GPU (GRES) and 4 cores per task. */
const onThisNode = ['--gres=none', '--cpus-per-task=1'];
const bin = path.join(repoRoot, 'bin', 'batch.js');

function doneIds(db: string): string[] {
  if (!existsSync(db)) return [];
  const handle = new Database(db, { readonly: true });
  try {
    return (handle.prepare("SELECT custom_id FROM items WHERE status = 'done'").all() as Array<{ custom_id: string }>).map((row) => row.custom_id);
  } catch {
    // Created by the task a moment ago: its tables are not there yet.
    return [];
  } finally {
    handle.close();
  }
}

describe.skipIf(!haveSlurm || !asRoot)('batch under a real Slurm', () => {
  let sim: SimServer;
  afterAll(async () => sim?.close());

  it('a 4-task array (ids 3-6) over simulated servers, then the merge as a dependent job: every prompt answered once, merged in input order', async () => {
    sim = await startSimServer({ slots: 8, serviceMs: 2 });
    const home = path.join(dir, 'shared-home');
    const input = path.join(dir, 'prompts.jsonl');
    writePrompts(input, 200, 'p');
    const env = `--export=ALL,BATCH_BIN=${bin},BATCH_HOME=${home},BATCH_JOB=night`;
    const array = slurm.sbatch(['--array=3-6', ...onThisNode, env, '-o', path.join(dir, 'task-%a.log'), path.join(examples, 'batch-array.sbatch'), input, '--server', sim.url]);
    const merged = path.join(dir, 'merged.jsonl');
    const merge = slurm.sbatch([`--dependency=afterok:${array}`, env, '-o', path.join(dir, 'merge.log'), path.join(examples, 'batch-merge.sbatch'), merged]);
    expect(await slurm.waitForJob(array)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
    expect(await slurm.waitForJob(merge), readFileSync(path.join(dir, 'merge.log'), 'utf8')).toEqual(['COMPLETED']);
    const lines = parseJsonl(readFileSync(merged, 'utf8'));
    expect(lines.map((line) => line.custom_id)).toEqual(Array.from({ length: 200 }, (_, i) => `p${i}`));
    expect(sim.stats().requests).toBe(200);
    for (let k = 1; k <= 4; k++) expect(readFileSync(path.join(dir, `task-${k + 2}.log`), 'utf8')).toMatch(new RegExp(`job night\\.shard-${k}-of-4: \\d+/\\d+ done, 0 failed, 0 pending`));
    for (let k = 1; k <= 4; k++) expect(doneIds(path.join(home, `night.shard-${k}-of-4.sqlite`)).length).toBeGreaterThan(20);
  });

  it('a task requeued mid-run (SIGTERM from Slurm) continues its own shard: nothing it had answered is sent again, and the merge is complete', async () => {
    await sim?.close();
    sim = await startSimServer({ slots: 2, serviceMs: 25 });
    const home = path.join(dir, 'requeue-home');
    const input = path.join(dir, 'requeue.jsonl');
    writePrompts(input, 240, 'r');
    const env = `--export=ALL,BATCH_BIN=${bin},BATCH_HOME=${home},BATCH_JOB=requeued`;
    const array = slurm.sbatch(['--array=1-2', ...onThisNode, env, '-o', path.join(dir, 'requeue-%a.log'), path.join(examples, 'batch-array.sbatch'), input, '--server', sim.url, '--workers', '2']);
    const first = path.join(home, 'requeued.shard-1-of-2.sqlite');
    await pollUntil(() => doneIds(first).length >= 20, 'shard 1 to answer 20 prompts');
    // Requeued held: on this one-node cluster a plain requeue sometimes relaunched the task at once,
    // while its old step was still being killed, and slurmd refused it ("already killed, do not
    // launch"). Released below once the first run has ended, as a cluster's scheduler would.
    slurm.command('scontrol', ['requeuehold', `${array}_1`]);
    // The first run ends on Slurm's SIGTERM: what it answered is what it must not send again.
    await pollUntil(() => /PENDING/.test(slurm.jobStates(`${array}_1`).join(' ')), 'task 1 to be pending again', 6000);
    // …and until its first run has ended: batch says so last, and no step of the task is left on the
    // node (started again while the old step was still being cleaned up, the task failed to launch).
    const taskLog = path.join(dir, 'requeue-1.log');
    await pollUntil(() => existsSync(taskLog) && readFileSync(taskLog, 'utf8').includes('interrupted: nothing is lost'), 'the first run of task 1 to end', 6000);
    // slurmd refuses to launch a job id it is still killing ("already killed, do not launch"):
    // released once it says the old batch step is done.
    const jobId = /JobId=(\d+)/.exec(slurm.command('scontrol', ['show', 'job', '-o', `${array}_1`]))![1];
    const slurmdLog = path.join(slurm.dir, 'log', 'slurmd.log');
    await pollUntil(() => {
      const text = existsSync(slurmdLog) ? readFileSync(slurmdLog, 'utf8') : '';
      const cancelled = text.lastIndexOf(`JOB ${jobId} ON`);
      return cancelled >= 0 && text.indexOf(`[${jobId}.batch] done with job`, cancelled) >= 0;
    }, 'slurmd to be done with the first run of task 1', 6000);
    const answered = doneIds(first);
    expect(answered.length).toBeGreaterThanOrEqual(20);
    expect(answered.length).toBeLessThan(120);
    // A requeued job waits a while before it may start again; let it start now.
    slurm.command('scontrol', ['release', `${array}_1`]);
    slurm.command('scontrol', ['update', `JobId=${array}_1`, 'StartTime=now']);
    let states = await slurm.waitForJob(array, 60_000);
    // This one-node cluster sometimes relaunches the task while slurmd is still killing its old
    // step, and slurmd refuses it ("already killed, do not launch"): the script never ran. A finished
    // job can be requeued again, as an operator would; batch's part (resuming the shard) is the same.
    for (let again = 0; again < 3 && states.includes('FAILED') && readFileSync(path.join(slurm.dir, 'log', 'slurmd.log'), 'utf8').includes('already killed, do not launch'); again++) {
      slurm.command('scontrol', ['requeue', `${array}_1`]);
      await pollUntil(() => /PENDING/.test(slurm.jobStates(`${array}_1`).join(' ')), 'task 1 to be pending again', 6000);
      slurm.command('scontrol', ['update', `JobId=${array}_1`, 'StartTime=now']);
      states = await slurm.waitForJob(array, 60_000);
    }
    const logs = ['1', '2'].map((k) => { const file = path.join(dir, `requeue-${k}.log`); return existsSync(file) ? `task ${k}:\n${readFileSync(file, 'utf8')}` : `task ${k}: no log`; }).join('\n');
    const daemonLogs = ['slurmd.log', 'slurmctld.log'].map((name) => { const file = path.join(slurm.dir, 'log', name); return existsSync(file) ? `${name}:\n${readFileSync(file, 'utf8').split('\n').filter((l) => /error|fail|requeue|launch/i.test(l)).slice(-25).join('\n')}` : ''; }).join('\n');
    expect(states, `${logs}\n${slurm.command('scontrol', ['show', 'job', array])}\n${daemonLogs}`).toEqual(['COMPLETED', 'COMPLETED']);
    // The merge after the array (the first test submits it with --dependency=afterok).
    const merged = path.join(dir, 'requeue-merged.jsonl');
    const merge = slurm.sbatch([env, '-o', path.join(dir, 'requeue-merge.log'), path.join(examples, 'batch-merge.sbatch'), merged]);
    expect(await slurm.waitForJob(merge)).toEqual(['COMPLETED']);
    const byPrompt = sim.stats().byPrompt;
    for (const id of answered) expect(byPrompt[`r prompt ${id.slice(1)}`], `prompt ${id}`).toBe(1);
    expect(Object.keys(byPrompt)).toHaveLength(240);
    const lines = parseJsonl(readFileSync(merged, 'utf8'));
    expect(lines.map((line) => line.custom_id)).toEqual(Array.from({ length: 240 }, (_, i) => `r${i}`));
  }, 150_000);
});
