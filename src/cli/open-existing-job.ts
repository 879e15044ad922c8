import { existsSync } from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';
import type { CliIo } from './io.js';
import type { JobReader } from '../store/job-reader.js';
import type { JobRecord } from '../store/store-records.js';

/**
 * Opens, read-only, the database of a job that must exist (`status`, `export`): `--db` when
 * given, else `<BATCH_HOME>/<job>.sqlite`. Throws JOB_NOT_FOUND naming where it looked.
 * The caller closes the reader.
 */
export async function openExistingJob(options: { readonly job: string; readonly db?: string }, io: CliIo): Promise<{ store: JobReader; job: JobRecord }> {
  const { batchHome, jobDbPath } = await import('../store/job-paths.js');
  const { JobReader } = await import('../store/job-reader.js');
  const home = batchHome(io.env, io.cwd);
  const dbPath = options.db === undefined ? jobDbPath(home, options.job) : path.resolve(io.cwd, options.db);
  const notFound = (): StoreError =>
    new StoreError('JOB_NOT_FOUND', `no job "${options.job}" in ${options.db === undefined ? home : dbPath}; \`batch jobs\` lists them`);
  if (!existsSync(dbPath)) throw notFound();
  const store = JobReader.open({ path: dbPath });
  const job = store.getJob(options.job);
  if (job === undefined) {
    store.close();
    throw notFound();
  }
  return { store, job };
}
