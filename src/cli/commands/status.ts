import type { CliIo } from '../io.js';
import { openExistingJob } from '../open-existing-job.js';
import { ExitCode, UsageError } from '../../errors.js';
import { parseJobConfig } from '../../app/job/job-config.js';
import { jobSettingsFlags } from '../../app/job/job-settings-flags.js';
import { readJobInsights } from '../../reporting/job-insights.js';
import { formatInsightLines, jobThroughputLine } from '../../reporting/format-job-insights.js';

/** Options of `batch status`. */
export interface StatusCommandOptions {
  /** The job name. */
  readonly job: string;
  /** Print JSON instead of text. @default false */
  readonly json?: boolean;
  /** The job database file. @default `<batch home>/<job>.sqlite` */
  readonly db?: string;
  /** Refresh a live view until the job ends (`watchStatus`). @default false */
  readonly watch?: boolean;
  /** With `watch`: milliseconds between refreshes. @default 2000 */
  readonly intervalMs?: number;
}

const ms = (value: number): string => `${Math.round(value)} ms`;

/** The first superseded items `batch status` names (`--json` lists them all). */
const supersededShown = 20;

/**
 * `batch status <job>`: counts, throughput, latency percentiles, the most frequent errors, the
 * prompts that left the inputs, and the inputs and settings `batch resume` will use.
 */
export async function statusCommand(options: StatusCommandOptions, io: CliIo): Promise<number> {
  if (options.watch === true) return (await import('./watch-status.js')).watchStatus(options, io);
  if (options.intervalMs !== undefined) throw new UsageError(`--interval ${options.intervalMs / 1000}: the interval is between refreshes of --watch; add --watch`);
  const { store, job } = await openExistingJob(options, io);
  try {
    const stats = store.jobStats(job.id);
    const superseded = store.supersededItems(job.id);
    const saved = readSavedConfig(job.config, store.path);
    const resumeUses = { inputs: saved.config.inputs, settings: saved.config.settings };
    const { stats: _stats, ...insights } = readJobInsights(store, job);
    if (options.json === true) {
      io.stdout.write(`${JSON.stringify({ job: job.name, state: job.state, ...stats, superseded, resumeUses, insights }, null, 2)}\n`);
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
    lines.push(jobThroughputLine(stats));
    if (stats.latencyMs !== null) {
      const ttft = stats.ttftP50Ms === null ? '' : `  (ttft p50 ${ms(stats.ttftP50Ms)})`;
      lines.push(`latency     p50 ${ms(stats.latencyMs.p50)}  p95 ${ms(stats.latencyMs.p95)}  p99 ${ms(stats.latencyMs.p99)}${ttft}`);
    }
    if (stats.topErrors.length > 0) {
      lines.push('top errors');
      for (const group of stats.topErrors) lines.push(`  ${String(group.count).padStart(6)}  ${group.code}  ${group.message}`);
    }
    lines.push(...formatInsightLines({ stats, ...insights }, `batch report ${job.name}`));
    if (superseded.length > 0) {
      lines.push(`superseded  ${superseded.length} prompt(s) no longer in the inputs, left out of the output:`);
      for (const item of superseded.slice(0, supersededShown)) lines.push(`  ${item.customId}  (${item.source}, was ${item.status})`);
      if (superseded.length > supersededShown) lines.push(`  … ${superseded.length - supersededShown} more (\`batch status ${job.name} --json\` lists them all)`);
    }
    // What a resume without flags runs with: the last run's flags; defaults and saved advice fill the rest.
    const flags = jobSettingsFlags(saved.config.settings);
    lines.push(
      `resume uses`,
      `  inputs    ${saved.config.inputs.length > 0 ? saved.config.inputs.join(' ') : '(none remembered)'}`,
      `  settings  ${flags.length > 0 ? flags.join(' ') : '(none given: defaults and saved advice)'}`,
      `            flags given to \`batch resume\` override these`,
    );
    for (const line of saved.ignored) lines.push(`  ${line}`);
    io.stdout.write(`${lines.join('\n')}\n`);
    return ExitCode.Ok;
  } finally {
    store.close();
  }
}

/** The job's saved config, or an empty one with the reason when this `batch` cannot read it. */
function readSavedConfig(raw: Readonly<Record<string, unknown>>, where: string): ReturnType<typeof parseJobConfig> {
  try {
    return parseJobConfig(raw, where);
  } catch (error) {
    return { config: { version: 1, inputs: [], settings: {} }, ignored: [error instanceof Error ? error.message : String(error)] };
  }
}
