import { UsageError } from '../errors.js';
import type { InputShard } from './input-shard.js';

/** The shard a scheduler's task is, and how it was read (for the run's first notice). */
export interface SchedulerShard {
  readonly shard: InputShard;
  /** `Slurm array task 5 of 3-9:2`, `Kubernetes completion index 2 of 4`. */
  readonly source: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The variable that gives a Kubernetes Indexed Job's completion count, which Kubernetes does not set itself. */
export const SHARD_COUNT_VARIABLE = 'BATCH_SHARD_COUNT';

/**
 * `--shard auto` (or `auto/N`): the shard of this task from the scheduler that started it. A Slurm
 * array task (`SLURM_ARRAY_TASK_ID` with `_MIN`, `_MAX`, `_STEP`, `_COUNT`, any first index and
 * step) is shard (ID - MIN) / STEP + 1 of (MAX - MIN) / STEP + 1; a Kubernetes Indexed Job's pod
 * (`JOB_COMPLETION_INDEX`, from 0) is shard INDEX + 1 of N, N from `auto/N` or `BATCH_SHARD_COUNT`.
 * Refuses, naming the variables, when neither is there, when they contradict each other, or for a
 * Slurm array given as a list (`--array=1,4,9`), whose task ids say nothing of a task's place.
 */
export function shardFromScheduler(text: string, env: Env): SchedulerShard {
  const match = /^auto(?:\/(\d+))?$/.exec(text.trim());
  if (match === null) throw new UsageError(`expected \`--shard\` to be K/N, auto or auto/N, got "${text}"`);
  const countGiven = match[1] === undefined ? undefined : wholeNumber(match[1], '--shard auto/N', 1);
  const slurm = slurmShard(env);
  const kubernetes = kubernetesShard(env, countGiven);
  if (slurm === undefined && kubernetes === undefined) {
    throw new UsageError(
      '`--shard auto` found no scheduler: neither SLURM_ARRAY_TASK_ID (a Slurm job array: sbatch --array=1-N) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give the shard as --shard K/N',
    );
  }
  if (slurm !== undefined && kubernetes !== undefined && (slurm.shard.index !== kubernetes.shard.index || slurm.shard.count !== kubernetes.shard.count)) {
    throw new UsageError(`\`--shard auto\`: the schedulers disagree: ${slurm.source} is shard ${describe(slurm.shard)}, ${kubernetes.source} is shard ${describe(kubernetes.shard)}; give the shard as --shard K/N`);
  }
  const found = slurm ?? (kubernetes as SchedulerShard);
  if (countGiven !== undefined && found.shard.count !== countGiven) {
    throw new UsageError(`\`--shard auto/${countGiven}\` names ${countGiven} shards, but ${found.source} makes ${found.shard.count}; give the count the array has, or --shard auto`);
  }
  return found;
}

/** The shard of a Slurm array task, or undefined outside an array. */
function slurmShard(env: Env): SchedulerShard | undefined {
  const idText = env.SLURM_ARRAY_TASK_ID;
  if (idText === undefined || idText === '') return undefined;
  const id = wholeNumber(idText, 'SLURM_ARRAY_TASK_ID', 0);
  const min = wholeNumber(required(env, 'SLURM_ARRAY_TASK_MIN'), 'SLURM_ARRAY_TASK_MIN', 0);
  const max = wholeNumber(required(env, 'SLURM_ARRAY_TASK_MAX'), 'SLURM_ARRAY_TASK_MAX', min);
  const step = env.SLURM_ARRAY_TASK_STEP === undefined || env.SLURM_ARRAY_TASK_STEP === '' ? 1 : wholeNumber(env.SLURM_ARRAY_TASK_STEP, 'SLURM_ARRAY_TASK_STEP', 1);
  const array = `${min}-${max}${step === 1 ? '' : `:${step}`}`;
  const count = Math.floor((max - min) / step) + 1;
  const countText = env.SLURM_ARRAY_TASK_COUNT;
  if (countText !== undefined && countText !== '' && wholeNumber(countText, 'SLURM_ARRAY_TASK_COUNT', 1) !== count) {
    throw new UsageError(
      `\`--shard auto\`: Slurm array tasks ${min} to ${max} (step ${step}) make ${count} tasks, but SLURM_ARRAY_TASK_COUNT is ${countText}: an array given as a list (--array=1,4,9) or with gaps does not say which shard a task is; submit a range (--array=1-N, or A-B:S), or give --shard K/N`,
    );
  }
  if (id < min || id > max || (id - min) % step !== 0) {
    throw new UsageError(`\`--shard auto\`: SLURM_ARRAY_TASK_ID ${id} is not a task of the array ${array}; give --shard K/N`);
  }
  return { shard: { index: (id - min) / step + 1, count }, source: `Slurm array task ${id} of ${array}` };
}

/** The shard of a Kubernetes Indexed Job's pod, or undefined outside one. */
function kubernetesShard(env: Env, countGiven: number | undefined): SchedulerShard | undefined {
  const indexText = env.JOB_COMPLETION_INDEX;
  if (indexText === undefined || indexText === '') return undefined;
  const index = wholeNumber(indexText, 'JOB_COMPLETION_INDEX', 0);
  const countText = env[SHARD_COUNT_VARIABLE];
  const fromEnv = countText === undefined || countText === '' ? undefined : wholeNumber(countText, SHARD_COUNT_VARIABLE, 1);
  if (fromEnv !== undefined && countGiven !== undefined && fromEnv !== countGiven) {
    throw new UsageError(`\`--shard auto/${countGiven}\` and ${SHARD_COUNT_VARIABLE}=${fromEnv} disagree on the number of shards; keep one (the Job's completions)`);
  }
  const count = countGiven ?? fromEnv;
  if (count === undefined) {
    throw new UsageError(
      `\`--shard auto\`: JOB_COMPLETION_INDEX=${index} (a Kubernetes Indexed Job) does not say how many shards there are: pass --shard auto/N or set ${SHARD_COUNT_VARIABLE}=N, N being the Job's completions`,
    );
  }
  if (index >= count) throw new UsageError(`\`--shard auto\`: JOB_COMPLETION_INDEX=${index} is past the last of ${count} shards (indexes 0 to ${count - 1}); check the Job's completions`);
  return { shard: { index: index + 1, count }, source: `Kubernetes completion index ${index} of ${count}` };
}

function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new UsageError(`\`--shard auto\`: SLURM_ARRAY_TASK_ID is set but ${name} is not; run batch as a task of a Slurm job array (sbatch --array=1-N), or give --shard K/N`);
  return value;
}

function wholeNumber(text: string, name: string, min: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`\`--shard auto\`: expected ${name} to be a whole number >= ${min}, got "${text}"`);
  return value;
}

function describe(shard: InputShard): string {
  return `${shard.index}/${shard.count}`;
}

/**
 * The scheduler task this process runs as, when a scheduler started it: `slurm:<array job>_<task>`
 * (or `slurm:<job>`), `k8s:<completion index>`. A requeued task keeps it on any node.
 */
export function schedulerTaskId(env: Env): string | undefined {
  if (env.SLURM_ARRAY_JOB_ID && env.SLURM_ARRAY_TASK_ID) return `slurm:${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}`;
  if (env.SLURM_JOB_ID) return `slurm:${env.SLURM_JOB_ID}`;
  if (env.JOB_COMPLETION_INDEX) return `k8s:${env.JOB_COMPLETION_INDEX}`;
  return undefined;
}
