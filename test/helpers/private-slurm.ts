import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '../../src/servers/free-port.js';
import { pidsMatching } from './processes.js';

/**
 * A single-node Slurm of the test's own (Debian's slurm-wlm and munge): its munged, slurmctld and
 * slurmd run from a configuration in a temporary folder, on ports of their own, so a system Slurm,
 * if any, is untouched. Every daemon, and every job step they started, is stopped by pid.
 */
export interface PrivateSlurm {
  /** The folder that holds the configuration, state, spool and logs. */
  readonly dir: string;
  /** The environment that points Slurm's commands (sbatch, squeue, scontrol) at this cluster. */
  readonly env: Readonly<Record<string, string>>;
  /** Runs a Slurm command against this cluster and returns its stdout. */
  command(name: 'sbatch' | 'squeue' | 'scontrol' | 'scancel' | 'sinfo', args: readonly string[]): string;
  /** Submits a batch script; returns the job id. */
  sbatch(args: readonly string[]): string;
  /** The state of a job (`scontrol show job`): PENDING, RUNNING, COMPLETED, FAILED, … of each task. */
  jobStates(jobId: string): string[];
  /** Waits (bounded) until every task of `jobId` has ended; returns their states. */
  waitForJob(jobId: string, timeoutMs?: number): Promise<string[]>;
  /** Cancels every job, stops the daemons and every process they left. */
  stop(): Promise<void>;
}

const daemons = ['munged', 'slurmctld', 'slurmd', 'sbatch'] as const;

/** Whether Slurm and munge are installed (`.ci/run` installs them). */
export function findSlurm(): boolean {
  try {
    for (const name of daemons) execFileSync('sh', ['-c', `command -v ${name} || test -x /usr/sbin/${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const sbin = (name: string): string => (name === 'munged' || name === 'slurmctld' || name === 'slurmd' ? `/usr/sbin/${name}` : name);

/** Starts the cluster and waits until its node is idle. */
export async function startPrivateSlurm(): Promise<PrivateSlurm> {
  await stopAbandonedClusters();
  const dir = mkdtempSync(path.join(os.tmpdir(), `batch-slurm-${process.pid}-`));
  chmodSync(dir, 0o755);
  const munge = path.join(dir, 'munge');
  for (const folder of ['state', 'spool', 'log', 'munge']) mkdirSync(path.join(dir, folder), { recursive: true });
  chmodSync(munge, 0o700);
  writeFileSync(path.join(munge, 'munge.key'), randomBytes(1024), { mode: 0o400 });
  const socket = path.join(munge, 'munge.sock');
  // Every process the daemons start inherits this: the job steps they leave are found by it.
  const marker = `BATCH_TEST_SLURM=${dir}`;
  const daemonEnv = { ...process.env, BATCH_TEST_SLURM: dir };
  execFileSync(sbin('munged'), ['--force', `--key-file=${path.join(munge, 'munge.key')}`, `--socket=${socket}`, `--pid-file=${path.join(munge, 'munged.pid')}`, `--log-file=${path.join(munge, 'munged.log')}`, `--seed-file=${path.join(munge, 'munged.seed')}`], { env: daemonEnv });
  const host = os.hostname();
  const conf = path.join(dir, 'slurm.conf');
  const [ctldPort, slurmdPort] = [await findFreePort(), await findFreePort()];
  writeFileSync(
    conf,
    [
      'ClusterName=batchtest',
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'AuthType=auth/munge',
      `AuthInfo=socket=${socket}`,
      'CredType=cred/munge',
      'SlurmUser=root',
      'SlurmdUser=root',
      `StateSaveLocation=${path.join(dir, 'state')}`,
      `SlurmdSpoolDir=${path.join(dir, 'spool')}/%n`,
      `SlurmctldPidFile=${path.join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${path.join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${path.join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${path.join(dir, 'log', 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      // Four tasks at once on a two-core machine: the tasks wait on servers, not on cores.
      'SlurmdParameters=config_overrides',
      'MpiDefault=none',
      'ReturnToService=2',
      'SchedulerType=sched/backfill',
      'JobCompType=jobcomp/none',
      'AccountingStorageType=accounting_storage/none',
      'KillWait=10',
      'MinJobAge=600',
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=8 State=UNKNOWN`,
      `PartitionName=batch Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  // Jobs take the submitter's environment (sbatch --export=ALL): their processes carry the marker too.
  const env = { SLURM_CONF: conf, BATCH_TEST_SLURM: dir };
  const withConf = { ...daemonEnv, SLURM_CONF: conf };
  const slurm: PrivateSlurm = {
    dir,
    env,
    command: (name, args) => execFileSync(name, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 }),
    sbatch: (args) => {
      const out = slurm.command('sbatch', ['--parsable', ...args]).trim();
      return out.split(';')[0]!;
    },
    jobStates: (jobId) => {
      let text: string;
      try {
        text = slurm.command('scontrol', ['show', 'job', '-o', jobId]);
      } catch {
        return [];
      }
      return [...text.matchAll(/JobState=(\S+)/g)].map((match) => match[1]!);
    },
    waitForJob: async (jobId, timeoutMs = 120_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = slurm.jobStates(jobId);
        if (states.length > 0 && states.every((state) => !/^(PENDING|RUNNING|CONFIGURING|COMPLETING|REQUEUED|SUSPENDED)/.test(state))) return states;
        if (Date.now() > deadline) throw new Error(`Slurm job ${jobId} still ${states.join(', ')} after ${timeoutMs} ms; see ${dir}/log`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    stop: async () => {
      try {
        const ids = slurm.command('squeue', ['-h', '-o', '%A']).split('\n').filter((id) => id.trim() !== '');
        if (ids.length > 0) slurm.command('scancel', ids);
      } catch {
        // The controller is gone already: its steps are killed below.
      }
      for (const file of ['slurmd.pid', 'slurmctld.pid', path.join('munge', 'munged.pid')]) await stopPid(readPid(path.join(dir, file)));
      for (const pid of pidsOfCluster(marker, dir)) await stopPid(pid);
      const left = pidsOfCluster(marker, dir);
      rmSync(dir, { recursive: true, force: true });
      if (left.length > 0) throw new Error(`the private Slurm left processes that would not stop: ${left.join(', ')}`);
    },
  };
  try {
    execFileSync(sbin('slurmctld'), ['-f', conf], { env: withConf });
    execFileSync(sbin('slurmd'), ['-f', conf], { env: withConf });
    const deadline = Date.now() + 30_000;
    while (!/idle/.test(safe(() => slurm.command('sinfo', ['-h', '-o', '%T'])))) {
      if (Date.now() > deadline) throw new Error(`the private Slurm did not come up in 30 s; see ${dir}/log`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } catch (error) {
    await slurm.stop();
    throw error;
  }
  return slurm;
}

function safe(read: () => string): string {
  try {
    return read();
  } catch {
    return '';
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== 'Z';
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
async function stopPid(pid: number | undefined): Promise<void> {
  if (pid === undefined || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 40 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * Live processes of the cluster: those whose environment holds `entry` (the jobs' processes), or
 * whose working folder is inside `dir` (slurmstepd clears its environment but works in the log folder).
 */
function pidsOfCluster(entry: string, dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const inDir = readlinkSync(`/proc/${name}/cwd`).startsWith(dir);
      if (inDir || readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(entry)) pids.push(Number(name));
    } catch {
      // Ended while we looked, or not ours to read.
    }
  }
  return pids;
}

/**
 * The clusters of test processes that were killed before they could stop them (their daemons run
 * detached, so they outlive the test): stopped by pid, their folders removed.
 */
async function stopAbandonedClusters(): Promise<void> {
  for (const name of readdirSync(os.tmpdir())) {
    const owner = /^batch-slurm-(\d+)-/.exec(name)?.[1];
    if (owner === undefined || alive(Number(owner))) continue;
    const dir = path.join(os.tmpdir(), name);
    for (const pid of [...pidsMatching(dir), ...pidsOfCluster(`BATCH_TEST_SLURM=${dir}`, dir)]) await stopPid(pid);
    rmSync(dir, { recursive: true, force: true });
  }
}
