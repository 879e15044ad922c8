import type { CliIo } from '../io.js';
import type { RunJobOptions } from '../../app/run/run-job.js';
import { ListenerSet } from '../../scheduler/listener-set.js';
import type { ProgressReporter } from '../../reporting/progress-reporter.js';

/** `batch run` and `batch resume`: the job's options, and how to print. */
export interface RunCommandOptions extends RunJobOptions {
  /** No progress output. @default false */
  readonly quiet?: boolean;
  /** Print the summary as JSON on stdout. @default false */
  readonly json?: boolean;
}

/**
 * `--shard auto`: the shard this task is of the Slurm array or Kubernetes Indexed Job that runs it,
 * as K/N, so the job (and what it remembers for `batch resume`) names the shard itself.
 */
async function withSchedulerShard(job: RunJobOptions, io: CliIo, notice: (line: string) => void): Promise<RunJobOptions> {
  if (job.shard === undefined || !job.shard.trim().startsWith('auto')) return job;
  const [{ shardFromScheduler }, { formatInputShard }] = await Promise.all([import('../../prompts/scheduler-shard.js'), import('../../prompts/input-shard.js')]);
  const found = shardFromScheduler(job.shard, io.env);
  notice(`shard ${formatInputShard(found.shard)} (${found.source})`);
  return { ...job, shard: formatInputShard(found.shard) };
}

/** `batch run [inputs...]` (or `--template … --data …`, `--dry-run`) / `batch resume [job]`. Returns the exit code. */
export async function runCommand(options: RunCommandOptions, io: CliIo): Promise<number> {
  const [{ runJob }, { ProgressReporter }, { formatRunSummary }] = await Promise.all([
    import('../../app/run/run-job.js'),
    import('../../reporting/progress-reporter.js'),
    import('../../reporting/run-summary.js'),
  ]);
  let reporter: ProgressReporter | undefined;
  const notice = (line: string): void => {
    if (!options.quiet) io.stderr.write(`batch: ${line}\n`);
  };
  // The reporter exists only once the total is known (it joins then); events before that have nothing to draw.
  const listener = new ListenerSet();
  const { quiet, json, ...given } = options;
  const job = await withSchedulerShard(given, io, notice);
  if (job.dryRun) {
    // Nothing is sent and nothing kept: no job, no database, no server.
    const [{ dryRun }, { formatDryRunReport }, { resolveDeadline }] = await Promise.all([import('../../app/run/dry-run.js'), import('../../reporting/dry-run-report.js'), import('../../app/run/resolve-deadline.js')]);
    // A bad --until/--for is refused in a dry run too, as the real run would refuse it.
    resolveDeadline(job, new Date());
    const report = await dryRun(job, { cwd: io.cwd, env: io.env, stdin: io.stdin, notice, perPrompt: json === true });
    io.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatDryRunReport(report));
    return report.exitCode;
  }
  try {
    const summary = await runJob(job, {
      cwd: io.cwd,
      env: io.env,
      stdin: io.stdin,
      softStop: io.softStop,
      hardStop: io.hardStop,
      stderr: io.stderr,
      listener,
      notice,
      onStart: async ({ pending, job: name, reading, deadlineAt }) => {
        notice(reading ? `job ${name}: ${pending} prompt(s) to send so far; reading the rest while sending` : `job ${name}: ${pending} prompt(s) to send`);
        if (deadlineAt !== undefined) notice(`sending stops at ${new Date(deadlineAt).toString().slice(0, 21)} (--until/--for); \`batch resume\` continues after it`);
        reporter = new ProgressReporter({ stream: io.stderr, isTTY: io.isTTY, quiet, total: pending, reading, deadlineAt });
        await reporter.start();
        listener.add(reporter);
      },
      onTotal: ({ pending, reading }) => reporter?.setTotal(pending, reading),
    });
    reporter?.stop();
    if (json) io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else io.stdout.write(formatRunSummary(summary));
    return summary.exitCode;
  } finally {
    reporter?.stop();
  }
}
