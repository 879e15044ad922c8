import { existsSync, realpathSync } from 'node:fs';
import { AppError } from '../../errors.js';
import { JobReader } from '../../store/job-reader.js';
import { listJobDatabases } from '../../store/job-paths.js';
import type { JobRecord } from '../../store/store-records.js';
import type { ShardJob } from '../../output/merge-job-outputs.js';
import { shardOfJobName, wholeJobName } from '../../output/shard-job-name.js';

/** One shard's job in its database, open read-only. */
export interface OpenedShard extends ShardJob {
  readonly store: JobReader;
  readonly job: JobRecord;
}

/** The shards of one job, their databases open read-only. */
export interface OpenedShards {
  /** The job the shards make up (its name without `.shard-K-of-N`). */
  readonly whole: string;
  readonly shards: readonly OpenedShard[];
  /** Closes every database opened. */
  close(): void;
}

/**
 * Opens the shards of job `job` (`<job>.shard-K-of-N`; a shard's own name stands for its whole job
 * too): in the databases `dbs` when given (absolute paths; one may hold several shards), else in
 * the batch home's `<job>.shard-K-of-N.sqlite` files. Finds none quietly (the caller says the job
 * is not there); a named database without a shard of the job is refused.
 */
export function openJobShards(job: string, dbs: readonly string[], home: string): OpenedShards {
  const whole = wholeJobName(job);
  const named = dbs.length > 0;
  checkNamedOnce(whole, dbs);
  const paths = named
    ? dbs
    : listJobDatabases(home)
        .filter((database) => shardOfJobName(database.name) !== undefined && wholeJobName(database.name) === whole)
        .map((database) => database.path);
  const stores: JobReader[] = [];
  const shards: OpenedShard[] = [];
  const close = (): void => {
    for (const store of stores) store.close();
  };
  try {
    for (const file of new Set(paths)) {
      if (!existsSync(file)) throw new AppError('JOB_NOT_FOUND', `--db ${file}: no such file; check the path (\`batch jobs --db FILE\` lists a database's jobs; for a sharded job, pass the database each shard's \`batch run --shard\` wrote)`);
      const store = JobReader.open({ path: file });
      stores.push(store);
      const names = store.listJobs().map((summary) => summary.name);
      const found = names.filter((name) => shardOfJobName(name) !== undefined && wholeJobName(name) === whole);
      if (found.length === 0 && named) {
        throw new AppError(
          'SHARDS_MISMATCHED',
          `${file} holds no shard of job "${whole}" (it holds ${names.length === 0 ? 'no job' : names.map((name) => `"${name}"`).join(', ')}); pass the databases of that job's shards, or name another job`,
        );
      }
      for (const name of found) shards.push({ store, job: store.getJob(name)!, shard: shardOfJobName(name)! });
    }
  } catch (error) {
    close();
    throw error;
  }
  return { whole, shards, close };
}

/**
 * A database named twice (`--db s1 --db s2 --db s2`, meant s3) is a mistake to name as such: read
 * once, it would be reported as the shard it should have been, missing.
 */
function checkNamedOnce(whole: string, dbs: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const db of dbs) {
    const key = existsSync(db) ? realpathSync(db) : db;
    const first = seen.get(key);
    if (first !== undefined) {
      throw new AppError('SHARDS_MISMATCHED', `--db ${db} was given twice${first === db ? '' : ` (also as ${first})`}; pass each shard's database of job "${whole}" once`);
    }
    seen.set(key, db);
  }
}
