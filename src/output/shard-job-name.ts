import type { InputShard } from '../prompts/input-shard.js';

const shardSuffix = /\.shard-(\d+)-of-(\d+)$/;

/**
 * The job name of one shard: `<job>.shard-K-of-N`. Each shard has a job (and a default database,
 * output and log folder) of its own, so shards run on one machine never meet.
 */
export function shardJobName(job: string, shard: InputShard): string {
  return `${job}.shard-${shard.index}-of-${shard.count}`;
}

/** A shard job's name without its `.shard-K-of-N`: the job the shards together make up. Other names are returned unchanged. */
export function wholeJobName(job: string): string {
  return job.replace(shardSuffix, '');
}

/** The shard a job name says it is, if it is a shard's name. */
export function shardOfJobName(job: string): InputShard | undefined {
  const match = shardSuffix.exec(job);
  if (match === null) return undefined;
  const index = Number(match[1]);
  const count = Number(match[2]);
  return index >= 1 && index <= count ? { index, count } : undefined;
}
