/** What `resumeCommand` needs to name a job so that the command finds it. */
export interface ResumeCommandOptions {
  readonly job: string;
  /** The job database, absolute. */
  readonly db: string;
  /** Where `batch resume <job>` looks when no --db is given (`<batch home>/<job>.sqlite`). */
  readonly defaultDb: string;
  /** Add `--retry-failed`. @default false */
  readonly retryFailed?: boolean;
}

/**
 * The `batch resume` command that continues a job, exactly as it must be typed: with `--db` when
 * the database is not where a bare resume looks, and every argument quoted for a POSIX shell.
 */
export function resumeCommand(options: ResumeCommandOptions): string {
  const words = ['batch', 'resume', options.job];
  if (options.db !== options.defaultDb) words.push('--db', options.db);
  if (options.retryFailed === true) words.push('--retry-failed');
  return words.map(quoteForShell).join(' ');
}

/** `word` as one argument of a POSIX shell: as is when it is safe, else in single quotes. */
export function quoteForShell(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
