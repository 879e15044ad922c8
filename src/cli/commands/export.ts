import path from 'node:path';
import type { CliIo } from '../io.js';
import { openExistingJob } from '../open-existing-job.js';
import { ExitCode, UsageError } from '../../errors.js';
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
  /** The job database file. @default `<batch home>/<job>.sqlite` */
  readonly db?: string;
}

/** `batch export <job>`: writes the finished items as OpenAI Batch JSONL or CSV. */
export async function exportCommand(options: ExportCommandOptions, io: CliIo): Promise<number> {
  const toStdout = options.out === undefined || options.out === '-';
  const format = options.format ?? (!toStdout && options.out!.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl');
  if (format !== 'jsonl' && format !== 'csv') throw optionError('--format', '"jsonl" or "csv"', format);
  if (options.bom === true && format !== 'csv') {
    throw new UsageError(`--bom: a byte order mark is for CSV read by spreadsheets, and JSONL readers would take it for part of the first line; add --format csv or drop --bom`);
  }
  const { writeOutput, writeOutputTo } = await import('../../store/write-output.js');
  const { store, job } = await openExistingJob(options, io);
  try {
    const outputOptions = { format, failedOnly: options.failedOnly ?? false, bom: options.bom ?? false } as const;
    if (toStdout) {
      const { lines } = await writeOutputTo(store, job.id, io.stdout, outputOptions);
      io.stderr.write(`wrote ${lines} ${format} lines to stdout\n`);
    } else {
      const target = path.resolve(io.cwd, options.out!);
      // The same check as `batch run`'s --out: never over the job's database or its inputs.
      const [{ checkOutputPath }, { parseJobConfig }] = await Promise.all([import('../../app/check-output-path.js'), import('../../app/job-config.js')]);
      const inputs = parseJobConfig(job.config, store.path).config.inputs;
      await checkOutputPath({ out: target, db: store.path, inputs, cwd: io.cwd, inputsMustExist: false });
      const { lines } = await writeOutput(store, job.id, { ...outputOptions, path: target });
      io.stderr.write(`wrote ${lines} ${format} lines to ${target}\n`);
    }
    return ExitCode.Ok;
  } finally {
    store.close();
  }
}
