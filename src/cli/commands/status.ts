import type { CliIo } from '../io.js';
import { openExistingJob } from '../open-existing-job.js';
import { ExitCode } from '../../errors.js';
import { formatDuration } from '../../reporting/format-duration.js';

/** Options of `batch status`. */
export interface StatusCommandOptions {
  /** The job name. */
  readonly job: string;
  /** Print JSON instead of text. @default false */
  readonly json?: boolean;
  /** The job database file. @default `<batch home>/<job>.sqlite` */
  readonly db?: string;
}

const ms = (value: number): string => `${Math.round(value)} ms`;

/** `batch status <job>`: counts, throughput, latency percentiles and the most frequent errors. */
export async function statusCommand(options: StatusCommandOptions, io: CliIo): Promise<number> {
  const { store, job } = await openExistingJob(options, io);
  try {
    const stats = store.jobStats(job.id);
    if (options.json === true) {
      io.stdout.write(`${JSON.stringify({ job: job.name, state: job.state, ...stats }, null, 2)}\n`);
      return ExitCode.Ok;
    }
    const { counts } = stats;
    const lines = [
      `job         ${job.name} (${job.state})`,
      `prompts     ${counts.total} total: ${counts.done} done, ${counts.failed} failed, ${counts.pending} pending, ${counts.running} running`,
    ];
    if (stats.deduplicated > 0 || stats.cached > 0) {
      lines.push(`            ${stats.deduplicated} deduplicated, ${stats.cached} from cache`);
    }
    lines.push(
      `throughput  ${stats.requestsPerSecond.toFixed(2)} req/s, ${stats.completionTokensPerSecond.toFixed(1)} completion tokens/s over ${formatDuration(stats.wallMs)}`,
    );
    if (stats.latencyMs !== null) {
      const ttft = stats.ttftP50Ms === null ? '' : `  (ttft p50 ${ms(stats.ttftP50Ms)})`;
      lines.push(`latency     p50 ${ms(stats.latencyMs.p50)}  p95 ${ms(stats.latencyMs.p95)}  p99 ${ms(stats.latencyMs.p99)}${ttft}`);
    }
    if (stats.topErrors.length > 0) {
      lines.push('top errors');
      for (const group of stats.topErrors) lines.push(`  ${String(group.count).padStart(6)}  ${group.code}  ${group.message}`);
    }
    io.stdout.write(`${lines.join('\n')}\n`);
    return ExitCode.Ok;
  } finally {
    store.close();
  }
}
