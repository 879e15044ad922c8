import { hostname } from 'node:os';
import path from 'node:path';
import type { CliIo } from '../io.js';
import { ExitCode } from '../../errors.js';

/** Options of `batch jobs`. */
export interface JobsCommandOptions {
  /** Print JSON instead of a table. @default false */
  readonly json?: boolean;
  /** List the jobs of this database file instead of every database in the batch home. */
  readonly db?: string;
}

function formatTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** `batch jobs`: every job under the batch home (or in `--db`), with progress and activity. */
export async function jobsCommand(options: JobsCommandOptions, io: CliIo): Promise<number> {
  const { batchHome, listJobDatabases } = await import('../../store/job-paths.js');
  const { JobReader } = await import('../../store/job-reader.js');
  const home = batchHome(io.env, io.cwd);
  const databases = options.db === undefined ? listJobDatabases(home) : [{ name: '', path: path.resolve(io.cwd, options.db) }];
  const rows = [];
  for (const database of databases) {
    let store;
    try {
      store = JobReader.open({ path: database.path });
      rows.push(...store.listJobs(hostname()));
    } catch (error) {
      // One unreadable file must not hide the other jobs; with --db it is the only one asked for.
      if (options.db !== undefined) throw error;
      io.stderr.write(`skipping ${database.path}: ${error instanceof Error ? error.message : String(error)}\n`);
    } finally {
      store?.close();
    }
  }
  if (options.json === true) {
    io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return ExitCode.Ok;
  }
  if (rows.length === 0) {
    io.stderr.write(`no jobs in ${home}; start one with \`batch run <prompts>\` (set BATCH_HOME or --db to look elsewhere)\n`);
    return ExitCode.Ok;
  }
  const table = [
    ['JOB', 'STATE', 'DONE/TOTAL', 'FAILED', 'STARTED', 'LAST ACTIVITY'],
    ...rows.map((job) => [job.name, job.state, `${job.done}/${job.total}`, String(job.failed), formatTime(job.startedAt), formatTime(job.lastActivityAt)]),
  ];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  for (const row of table) {
    io.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()}\n`);
  }
  return ExitCode.Ok;
}
