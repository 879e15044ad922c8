import path from 'node:path';
import type { CliIo } from '../io.js';
import { openExistingJob } from '../open-existing-job.js';
import { AppError, ExitCode, UsageError } from '../../errors.js';
import { optionError } from '../../util/check-option.js';

/** Options of `batch export`. */
export interface ExportCommandOptions {
  /** The job name. */
  readonly job: string;
  /** Output file; `-` or omitted writes to stdout. */
  readonly out?: string;
  /** `jsonl` (OpenAI Batch output) or `csv`. @default `csv` when `out` ends in `.csv`, else `jsonl` */
  readonly format?: string;
  /** Only failed items. @default false */
  readonly failedOnly?: boolean;
  /** Start a CSV with a UTF-8 byte order mark, so spreadsheets read it as UTF-8. @default false */
  readonly bom?: boolean;
  /**
   * Write the finished prompts of a job (or of its shards) that has prompts not finished, with a
   * line on stderr per unfinished part. Without it such an export writes nothing and exits 5
   * (EXPORT_INCOMPLETE). @default false
   */
  readonly partial?: boolean;
  /**
   * The job database files: one, or those of a sharded job's shards (merged in input order).
   * @default `<batch home>/<job>.sqlite`, else the shards `<batch home>/<job>.shard-K-of-N.sqlite`
   */
  readonly dbs?: readonly string[];
}

/**
 * `batch export <job>`: writes the finished items as OpenAI Batch JSONL or CSV. A job that is not
 * in the one database named (or in the batch home) but whose shards are (`batch run --shard`) is
 * exported whole: its shards merged in input order, exactly as one run would have written it.
 */
export async function exportCommand(options: ExportCommandOptions, io: CliIo): Promise<number> {
  const toStdout = options.out === undefined || options.out === '-';
  const format = options.format ?? (!toStdout && options.out!.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl');
  if (format !== 'jsonl' && format !== 'csv') throw optionError('--format', '"jsonl" or "csv"', format);
  if (options.bom === true && format !== 'csv') {
    throw new UsageError(`--bom: a byte order mark is for CSV read by spreadsheets, and JSONL readers would take it for part of the first line; add --format csv or drop --bom`);
  }
  const { expandJobDatabases } = await import('../../app/job/expand-job-databases.js');
  const dbs = await expandJobDatabases(options.dbs ?? [], options.job, io.cwd);
  let single;
  if (dbs.length <= 1) {
    try {
      single = await openExistingJob({ job: options.job, db: dbs[0] }, io);
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'JOB_NOT_FOUND') throw error;
      const exported = await exportShards(options, dbs, format, io);
      if (exported === undefined) throw error;
      return exported;
    }
  } else {
    const exported = await exportShards(options, dbs, format, io);
    if (exported === undefined) throw new AppError('JOB_NOT_FOUND', `no shards of job "${options.job}" in ${dbs.join(', ')}; \`batch jobs --db <path>\` lists the jobs of each`);
    return exported;
  }
  const [{ writeOutput, writeOutputTo }, { checkExportComplete, readsStdin }] = await Promise.all([import('../../output/write-output.js'), import('../../app/job/check-export-complete.js')]);
  const { store, job } = single;
  try {
    // Before a line is written: an output that lacks prompts must not pass for the job's answers.
    const unfinished = checkExportComplete(
      [{ label: `job "${job.name}" (${store.path})`, job: job.name, counts: store.countByStatus(job.id), inputsRead: job.inputsRead, readsStdin: readsStdin(job.config) }],
      options.partial === true,
    );
    const outputOptions = { format, failedOnly: options.failedOnly ?? false, bom: options.bom ?? false } as const;
    if (toStdout) {
      const { lines } = await writeOutputTo(store, job.id, io.stdout, outputOptions);
      io.stderr.write(`wrote ${lines} ${format} lines to stdout\n`);
    } else {
      const target = path.resolve(io.cwd, options.out!);
      // The same check as `batch run`'s --out: never over the job's database or its inputs.
      const [{ checkOutputPath }, { parseJobConfig, jobInputFiles }] = await Promise.all([import('../../app/job/check-output-path.js'), import('../../app/job/job-config.js')]);
      const inputs = jobInputFiles(parseJobConfig(job.config, store.path).config);
      await checkOutputPath({ out: target, db: store.path, inputs, cwd: io.cwd, inputsMustExist: false });
      const { lines } = await writeOutput(store, job.id, { ...outputOptions, path: target });
      io.stderr.write(`wrote ${lines} ${format} lines to ${target}\n`);
    }
    for (const line of unfinished) io.stderr.write(`batch: --partial: ${line}; its unfinished prompts are left out\n`);
    return ExitCode.Ok;
  } finally {
    store.close();
  }
}

/**
 * Writes the shards of `options.job` merged, or returns undefined when there are none (in `dbs`,
 * or in the batch home when none are named). Shards that do not fit together are refused.
 */
async function exportShards(options: ExportCommandOptions, dbs: readonly string[], format: 'jsonl' | 'csv', io: CliIo): Promise<number | undefined> {
  const [{ openJobShards }, { checkShardSet, writeMergedOutput, writeMergedOutputTo }, { batchHome }, { checkShardInputs }, { checkExportComplete, readsStdin }] = await Promise.all([
    import('../../app/job/open-job-shards.js'),
    import('../../output/merge-job-outputs.js'),
    import('../../store/job-paths.js'),
    import('../../app/job/check-shard-inputs.js'),
    import('../../app/job/check-export-complete.js'),
  ]);
  const opened = openJobShards(options.job, dbs, batchHome(io.env, io.cwd));
  try {
    if (opened.shards.length === 0) return undefined;
    // Every refusal before a line is written: one split, once each, of the same inputs, finished.
    checkShardSet(opened.whole, opened.shards);
    checkShardInputs(opened.whole, opened.shards);
    const unfinished = checkExportComplete(
      opened.shards.map(({ store, job, shard }) => ({
        label: `shard ${shard.index}/${shard.count} (${store.path})`,
        job: job.name,
        counts: store.countByStatus(job.id),
        inputsRead: job.inputsRead,
        readsStdin: readsStdin(job.config),
      })),
      options.partial === true,
    );
    const outputOptions = { format, failedOnly: options.failedOnly ?? false, bom: options.bom ?? false } as const;
    const count = opened.shards.length;
    let lines: number;
    let target = 'stdout';
    if (options.out === undefined || options.out === '-') {
      ({ lines } = await writeMergedOutputTo(opened.whole, opened.shards, io.stdout, outputOptions));
    } else {
      target = path.resolve(io.cwd, options.out);
      const [{ checkOutputPath }, { parseJobConfig, jobInputFiles }] = await Promise.all([import('../../app/job/check-output-path.js'), import('../../app/job/job-config.js')]);
      for (const { store, job } of opened.shards) {
        await checkOutputPath({ out: target, db: store.path, inputs: jobInputFiles(parseJobConfig(job.config, store.path).config), cwd: io.cwd, inputsMustExist: false });
      }
      ({ lines } = await writeMergedOutput(opened.whole, opened.shards, { ...outputOptions, path: target }));
    }
    io.stderr.write(`wrote ${lines} ${format} lines of job "${opened.whole}" (${count} shards merged in input order) to ${target}\n`);
    for (const line of unfinished) io.stderr.write(`batch: --partial: ${line}; its unfinished prompts are left out\n`);
    return ExitCode.Ok;
  } finally {
    opened.close();
  }
}
