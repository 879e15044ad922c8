import { existsSync } from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';
import type { CliIo } from './io.js';
import type { CheckpointStore } from '../store/checkpoint-store.js';
import type { JobRecord } from '../store/store-records.js';

/**
 * Opens, read-only, the database of a job that must exist (`status`, `export`): `--db` when
 * given, else `<BATCH_HOME>/<job>.sqlite`. Throws JOB_NOT_FOUND naming where it looked.
 * The caller closes the store.
 */
export async function openExistingJob(options: { readonly job: string; readonly db?: string }, io: CliIo): Promise<{ store: CheckpointStore; job: JobRecord }> {
  const { batchHome, jobDbPath } = await import('../store/job-paths.js');
  const { CheckpointStore } = await import('../store/checkpoint-store.js');
  const home = batchHome(io.env, io.cwd);
  const dbPath = options.db === undefined ? jobDbPath(home, options.job) : path.resolve(io.cwd, options.db);
  const notFound = (): StoreError =>
    new StoreError('JOB_NOT_FOUND', `no job "${options.job}" in ${options.db === undefined ? home : dbPath}; \`batch jobs\` lists them`);
  if (!existsSync(dbPath)) throw notFound();
  const store = CheckpointStore.open({ path: dbPath, readonly: true });
  const job = store.getJob(options.job);
  if (job === undefined) {
    store.close();
    throw notFound();
  }
  return { store, job };
}
