import path from 'node:path';
import type { CliIo } from '../io.js';
import { openExistingJob } from '../open-existing-job.js';
import { AppError, ExitCode, UsageError } from '../../errors.js';

/** Options of `batch report`. */
export interface ReportCommandOptions {
  /** The job name. */
  readonly job: string;
  /** Also write the report as one HTML page here. */
  readonly html?: string;
  /** Print the report's data as JSON instead of tables. @default false */
  readonly json?: boolean;
  /** The job database file. @default `<batch home>/<job>.sqlite` */
  readonly db?: string;
}

/** Failure messages the terminal shows; the HTML page and --json have them all (up to 50 groups). */
const failuresShown = 10;

/** A database string made safe for a terminal: no escape sequences, one line, bounded. */
function terminalText(text: string, max = 160): string {
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * `batch report <job>`: the job's throughput, latency, loads, memory and GPU per model and per
 * server, and its failures, on the terminal; `--html` also writes them as one self-contained page
 * with charts. Read-only: it works on a job another process is running.
 */
export async function reportCommand(options: ReportCommandOptions, io: CliIo): Promise<number> {
  const { store, job } = await openExistingJob(options, io);
  const [{ readJobReport }, { formatInsightTables }] = await Promise.all([import('../../reporting/job-report.js'), import('../../reporting/format-job-insights.js')]);
  let data;
  try {
    data = readJobReport(store, job);
  } finally {
    store.close();
  }
  // A shard that holds none of its inputs' prompts finished with nothing to send: a job to report.
  const finishedEmpty = data.stats.counts.total === 0 && job.state === 'done' && job.inputsRead;
  if (data.stats.counts.total === 0 && data.benches.length === 0 && !finishedEmpty) {
    throw new AppError('JOB_EMPTY', `job "${job.name}" (${store.path}) holds no prompts yet, so there is nothing to report; run prompts with \`batch run … --job ${job.name}\`, or wait until its run has read its inputs`);
  }
  if (options.html !== undefined) {
    const target = path.resolve(io.cwd, options.html);
    if (target === path.resolve(store.path)) throw new UsageError(`--html ${options.html} is the job database itself; name another file, e.g. report.html`);
    const [{ renderHtmlReport }, { writeTextFile }] = await Promise.all([import('../../reporting/html-report.js'), import('../../util/write-text-file.js')]);
    // Written beside and renamed (a page open in a browser is never seen half written); a link is
    // followed, a device or FIFO written in place, never replaced.
    try {
      writeTextFile(target, renderHtmlReport(data), '--html');
    } catch (error) {
      if (error instanceof AppError) throw error;
      const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
      throw new UsageError(`cannot write --html ${target} (${reason}): name a file in a folder that exists and you can write`, error);
    }
    io.stderr.write(`batch: report written to ${target}\n`);
  }
  if (options.json === true) {
    io.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return ExitCode.Ok;
  }
  const { formatBench } = await import('../../reporting/format-bench.js');
  // A job that only holds benches has no prompt tables to show.
  const lines = [`job         ${terminalText(job.name)} (${job.state})`, ...(data.stats.counts.total > 0 ? formatInsightTables(data) : [])];
  if (finishedEmpty) lines.push(`prompts     none: the job finished holding no prompts (a shard none of whose inputs' prompts fall to it), so nothing was sent`);
  if (data.failures.length > 0) {
    lines.push('', 'Failures with their messages');
    for (const failure of data.failures.slice(0, failuresShown)) lines.push(`  ${String(failure.count).padStart(6)}  ${failure.code}  ${terminalText(failure.message)}`);
    if (data.failures.length > failuresShown) lines.push(`  … ${data.failures.length - failuresShown} more groups (--html or --json show them all)`);
  }
  for (const bench of data.benches) {
    lines.push('', formatBench({ ...bench, description: `${terminalText(bench.target)} at ${new Date(bench.at).toISOString()}` }).trimEnd());
  }
  io.stdout.write(`${lines.join('\n')}\n`);
  return ExitCode.Ok;
}
