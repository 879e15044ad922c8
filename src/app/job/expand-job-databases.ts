import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../errors.js';
import { expandGlob, isGlobPattern } from '../../prompts/expand-glob.js';
import { listJobDatabases } from '../../store/job-paths.js';
import { shardOfJobName, wholeJobName } from '../../output/shard-job-name.js';

/**
 * `batch export --db` as typed: a database file as it is; a folder, the databases in it that are
 * named after a shard of `job` (`<job>.shard-K-of-N.sqlite`, as `batch run --shard` writes them
 * into a batch home), so the merge step of a scheduler's array is one line; a quoted glob
 * (`'shards/*.sqlite'`), the files it matches. A folder or glob that finds nothing is refused.
 */
export async function expandJobDatabases(dbs: readonly string[], job: string, cwd: string): Promise<string[]> {
  const expanded: string[] = [];
  for (const db of dbs) {
    const absolute = path.resolve(cwd, db);
    if (isGlobPattern(db)) {
      // A pattern such as 'home/J.shard-*' also matches the shards' output files: only databases count.
      const matches = (await expandGlob(db, cwd)).filter((match) => isSqliteFile(match.filePath));
      if (matches.length === 0) throw new AppError('JOB_NOT_FOUND', `--db '${db}' matches no job database; check the pattern (quote it, so that batch and not the shell expands it)`);
      expanded.push(...matches.map((match) => match.filePath));
    } else if (isFolder(absolute)) {
      const whole = wholeJobName(job);
      const shards = listJobDatabases(absolute).filter((database) => shardOfJobName(database.name) !== undefined && wholeJobName(database.name) === whole);
      if (shards.length === 0) {
        throw new AppError('JOB_NOT_FOUND', `--db ${absolute}: a folder with no shard database of job "${whole}" (files named ${whole}.shard-K-of-N.sqlite); pass the folder the shards wrote to, or their files`);
      }
      expanded.push(...shards.map((database) => database.path));
    } else {
      expanded.push(absolute);
    }
  }
  return expanded;
}

/** Whether `file` starts as every SQLite database does. */
function isSqliteFile(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const header = Buffer.alloc(16);
    return readSync(fd, header, 0, 16, 0) === 16 && header.toString('latin1') === 'SQLite format 3\0';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function isFolder(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}
