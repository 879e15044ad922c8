import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AppError, UsageError } from '../../errors.js';
import { parseModelOption } from '../../models/parse-model-option.js';
import { JobReader } from '../../store/job-reader.js';
import { missingFolders } from '../../util/missing-folders.js';
import { jobDbPath, jobNameFor, listJobDatabases, validateJobName } from '../../store/job-paths.js';
import { shardJobName } from '../../output/shard-job-name.js';
import type { InputShard } from '../../prompts/input-shard.js';
import type { JobSettings } from '../settings/settings-table.js';
import { absoluteFilePriorities } from './file-priorities.js';

/** A job's name and database. */
export interface LocatedJob {
  readonly job: string;
  /** Absolute path of the job database. */
  readonly db: string;
  /** Whether the database did not exist before this run (a refused run then removes it). */
  readonly created: boolean;
  /** Folders above a created database that did not exist either, innermost first (removed with it). */
  readonly createdFolders?: readonly string[];
  /**
   * Files in the batch home a bare `batch resume` passed over because they are not job databases
   * it can read, one `skipping <path>: <reason>` line each, as `batch jobs` shows them.
   */
  readonly skipped?: readonly string[];
}

/** What locating a job looks at. */
export interface LocateJobOptions {
  readonly inputs: readonly string[];
  readonly resume?: boolean;
  readonly job?: string;
  readonly db?: string;
  /** `--shard`: the job is this shard of `job` (or of the name derived from the inputs). */
  readonly shard?: InputShard;
}

/**
 * The job a run or resume works on. `run`: `--job`, else a name derived from the inputs.
 * `resume`: the named job, which must exist (nothing is created for a mistyped name), else the
 * most recently active unfinished job in the batch home (or `--db`).
 */
export function locateJob(options: LocateJobOptions, home: string, cwd: string): LocatedJob {
  const db = options.db === undefined ? undefined : path.resolve(cwd, options.db);
  if (!options.resume) {
    if (options.inputs.length === 0) throw new UsageError('no inputs given; expected `batch run <folder|file.jsonl|glob|->...` or `batch run --template prompt.md --data rows.csv`');
    const whole = options.job !== undefined ? validateJobName(options.job) : options.inputs.every((input) => input === '-') ? stdinJobName() : jobNameFor(options.inputs, cwd);
    const job = options.shard === undefined ? whole : validateJobName(shardJobName(whole, options.shard));
    const file = db ?? jobDbPath(home, job);
    return { job, db: file, created: !existsSync(file), createdFolders: missingFolders(file) };
  }
  if (options.job !== undefined) {
    const job = validateJobName(options.job);
    const file = db ?? jobDbPath(home, job);
    if (!existsSync(file)) {
      throw new AppError('JOB_NOT_FOUND', `no job "${job}": ${file} does not exist; \`batch jobs\` lists the jobs${db === undefined ? ` in ${home}` : ''}`);
    }
    // Looked up read-only first: a file that holds no such job (another program's database, an
    // empty file) must come out of a mistyped resume exactly as it went in.
    let found = false;
    try {
      const store = JobReader.open({ path: file });
      try {
        found = store.getJob(job) !== undefined;
      } finally {
        store.close();
      }
    } catch (error) {
      throw new AppError('JOB_NOT_FOUND', `no job "${job}": ${(error as Error).message}; \`batch jobs\` lists the jobs`, { cause: error });
    }
    if (!found) throw new AppError('JOB_NOT_FOUND', `no job "${job}" in ${file}; \`batch jobs\` lists the jobs there`);
    return { job, db: file, created: false };
  }
  // No name: the most recently active unfinished job, the one a user means in the morning.
  const candidates: Array<{ job: string; db: string; at: number }> = [];
  const skipped: string[] = [];
  const databases = db !== undefined ? [{ path: db }] : listJobDatabases(home);
  for (const database of databases) {
    let store: JobReader;
    try {
      store = JobReader.open({ path: database.path });
    } catch (error) {
      // `batch jobs` skips a file that is not a job database; a bare resume does too, unless it was named.
      if (db !== undefined) throw error;
      skipped.push(`skipping ${database.path}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    try {
      for (const job of store.listJobs()) {
        if (job.state !== 'done') candidates.push({ job: job.name, db: database.path, at: job.lastActivityAt ?? job.startedAt ?? 0 });
      }
    } finally {
      store.close();
    }
  }
  const latest = candidates.sort((a, b) => b.at - a.at)[0];
  if (!latest) {
    const passedOver = skipped.length > 0 ? ` (${skipped.join('; ')})` : '';
    throw new AppError('JOB_NOT_FOUND', `no unfinished job in ${db ?? home}${passedOver}; \`batch jobs\` lists the jobs there`);
  }
  return { ...latest, created: false, skipped };
}

/**
 * A job of its own for each run that reads only stdin: what arrives on stdin cannot be told to be
 * "the same inputs" again, and taken for them it would supersede the last run's answers. `--job`
 * names one to continue.
 */
function stdinJobName(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `stdin-${stamp}-${randomBytes(2).toString('hex')}`;
}

/**
 * The settings with their paths made absolute, so that `batch resume` works from any folder:
 * `--out`, `--metrics`, `--models-dir`, `--servers`, `--llama-server` when it names a path, and each `--model` (keeping its alias).
 */
export function absoluteSettings(settings: JobSettings, cwd: string): JobSettings {
  const absolute = (value: string | undefined): string | undefined => (value === undefined ? undefined : path.resolve(cwd, value));
  return {
    ...settings,
    out: absolute(settings.out),
    metrics: absolute(settings.metrics),
    modelsDir: absolute(settings.modelsDir),
    jsonSchema: absolute(settings.jsonSchema),
    priorities: absoluteFilePriorities(settings.priorities, cwd),
    serversFile: absolute(settings.serversFile),
    // A bare name is looked up on PATH by the shell's rules; only a path is resolved here.
    llamaServer: settings.llamaServer !== undefined && /[\\/]/.test(settings.llamaServer) ? absolute(settings.llamaServer) : settings.llamaServer,
    models: settings.models?.map((value) => {
      const model = parseModelOption(value, cwd);
      return model.alias === undefined ? model.path : `${model.alias}=${model.path}`;
    }),
  };
}
