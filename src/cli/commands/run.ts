import type { CliIo } from '../io.js';
import type { RunJobOptions } from '../../scheduler/run-job.js';
import { UsageError } from '../../errors.js';

/** `batch run` and `batch resume` flags as commander hands them over. */
export interface RunCommandOptions {
  readonly inputs: readonly string[];
  readonly resume?: boolean;
  readonly job?: string;
  readonly server?: readonly string[];
  readonly serverType?: RunJobOptions['serverType'];
  readonly apiKeyEnv?: string;
  readonly model?: readonly string[];
  readonly modelsDir?: string;
  readonly llamaServer?: string;
  readonly llamaServerArgs?: string;
  readonly maxModels?: number;
  readonly slots?: number;
  readonly ctx?: number;
  readonly threads?: number;
  readonly gpuLayers?: number;
  readonly memoryBudget?: string;
  readonly startupTimeout?: number;
  readonly workers?: number;
  readonly timeout?: number;
  readonly retries?: number;
  readonly keepAlive?: string;
  readonly maxWait?: number;
  readonly grace?: number;
  readonly stream?: boolean;
  readonly db?: string;
  readonly out?: string;
  readonly cache?: boolean;
  readonly retryFailed?: boolean;
  readonly quiet?: boolean;
  readonly json?: boolean;
}

function parseGib(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const gib = Number(value);
  if (!Number.isFinite(gib) || gib <= 0) throw new UsageError(`expected --memory-budget to be a number of GiB > 0, got "${value}"`);
  return Math.round(gib * 1024 ** 3);
}

/** `batch run <inputs...>` / `batch resume [job]`. Returns the exit code. */
export async function runCommand(options: RunCommandOptions, io: CliIo): Promise<number> {
  const [{ runJob }, { ProgressReporter }, { formatRunSummary }] = await Promise.all([
    import('../../scheduler/run-job.js'),
    import('../../reporting/progress-reporter.js'),
    import('../../reporting/run-summary.js'),
  ]);
  let reporter: InstanceType<typeof ProgressReporter> | undefined;
  const notice = (line: string): void => {
    if (!options.quiet) io.stderr.write(`batch: ${line}\n`);
  };
  const listener = {
    onDispatch: (item: Parameters<NonNullable<InstanceType<typeof ProgressReporter>['onDispatch']>>[0]) => reporter?.onDispatch(item),
    onOutcome: (outcome: Parameters<InstanceType<typeof ProgressReporter>['onOutcome']>[0]) => reporter?.onOutcome(outcome),
    onRetry: (...args: Parameters<InstanceType<typeof ProgressReporter>['onRetry']>) => reporter?.onRetry(...args),
  };
  try {
    const summary = await runJob(
      {
        inputs: options.inputs,
        resume: options.resume,
        job: options.job,
        db: options.db,
        out: options.out,
        servers: options.server,
        serverType: options.serverType,
        apiKeyEnv: options.apiKeyEnv,
        models: options.model,
        modelsDir: options.modelsDir,
        llamaServer: options.llamaServer,
        llamaServerArgs: options.llamaServerArgs,
        maxModels: options.maxModels,
        slots: options.slots,
        contextSize: options.ctx,
        threads: options.threads,
        gpuLayers: options.gpuLayers,
        memoryBudgetBytes: parseGib(options.memoryBudget),
        startupTimeoutMs: options.startupTimeout,
        workers: options.workers,
        timeoutMs: options.timeout,
        retries: options.retries,
        keepAlive: options.keepAlive,
        maxWaitMs: options.maxWait,
        graceMs: options.grace,
        stream: options.stream,
        retryFailed: options.retryFailed,
        cache: options.cache,
      },
      {
        cwd: io.cwd,
        env: io.env,
        stdin: io.stdin,
        softStop: io.softStop,
        hardStop: io.hardStop,
        listener,
        notice,
        onStart: async ({ pending, job }) => {
          notice(`job ${job}: ${pending} prompt(s) to send`);
          reporter = new ProgressReporter({ stream: io.stderr, isTTY: io.isTTY, quiet: options.quiet, total: pending });
          await reporter.start();
        },
      },
    );
    reporter?.stop();
    if (options.json) io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else io.stdout.write(formatRunSummary(summary));
    return summary.exitCode;
  } finally {
    reporter?.stop();
  }
}
