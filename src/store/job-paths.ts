import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** Suffix of a job database file in the batch home. */
const dbSuffix = '.sqlite';

/**
 * Where `batch` keeps job databases, outputs and logs: `BATCH_HOME` (absolute, or relative to
 * `cwd`) when set, else `<cwd>/checkpoints`. One variable moves all state, which tests rely on.
 */
export function batchHome(env: Readonly<Record<string, string | undefined>>, cwd: string): string {
  const fromEnv = env.BATCH_HOME;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return path.resolve(cwd, fromEnv);
  return path.join(cwd, 'checkpoints');
}

/** `<home>/<jobName>.sqlite` */
export function jobDbPath(home: string, jobName: string): string {
  return path.join(home, `${jobName}${dbSuffix}`);
}

/** `<home>/<jobName>.output.jsonl` */
export function jobOutputPath(home: string, jobName: string): string {
  return path.join(home, `${jobName}.output.jsonl`);
}

/** `<home>/<jobName>.logs` */
export function jobLogDir(home: string, jobName: string): string {
  return path.join(home, `${jobName}.logs`);
}

/** A job database found in the batch home. */
export interface JobDatabase {
  /** The job name the file is named after. */
  readonly name: string;
  readonly path: string;
}

/** The job databases in `home`, sorted by name; none when `home` does not exist yet. */
export function listJobDatabases(home: string): JobDatabase[] {
  let entries;
  try {
    entries = readdirSync(home, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(dbSuffix) && entry.name.length > dbSuffix.length)
    .map((entry) => ({ name: entry.name.slice(0, -dbSuffix.length), path: path.join(home, entry.name) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const jobNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * Checks a job name given with `--job`: it becomes a file name, so only letters, digits, `.`,
 * `_` and `-` are allowed. Returns the name.
 */
export function validateJobName(name: string): string {
  if (!jobNamePattern.test(name)) {
    throw new UsageError(
      `expected the job name to be 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit, got ${JSON.stringify(name)}; pass another --job`,
    );
  }
  return name;
}

/** Longest readable part of a default job name, before the hash. */
const maxStemLength = 48;

/**
 * A default job name for a set of inputs: a readable stem from the first input (its path relative
 * to `cwd`, extension dropped, separators turned into `-`) and 8 hex digits of the sha256 of the
 * sorted absolute input paths. Running the same inputs again gives the same name, so the job
 * continues instead of starting over. `-` (stdin) reads as `stdin`.
 */
export function jobNameFor(inputs: readonly string[], cwd: string): string {
  const absolute = inputs.map((input) => (input === '-' ? '-' : path.resolve(cwd, input)));
  const digest = createHash('sha256').update([...absolute].sort().join('\n')).digest('hex').slice(0, 8);
  const first = inputs[0];
  let stem = 'prompts';
  if (first === '-') {
    stem = 'stdin';
  } else if (first !== undefined) {
    const resolved = path.resolve(cwd, first);
    const relative = path.relative(cwd, resolved);
    const readable = relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? path.basename(resolved) : relative;
    const withoutExtension = readable.slice(0, readable.length - path.extname(readable).length) || readable;
    stem = withoutExtension
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .replace(/-+/g, '-')
      .slice(0, maxStemLength)
      .replace(/[-.]+$/, '');
    if (stem === '') stem = 'prompts';
  }
  return `${stem}-${digest}`;
}
