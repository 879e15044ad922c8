import type { ModelLoadStats } from '../scheduler/router.js';
import type { JobInsights } from './job-insights.js';
import { formatDeadlineLine, type DeadlineSummary } from './deadline-summary.js';
import { formatDuration } from './format-duration.js';
import { formatInsightLines } from './format-job-insights.js';

/** What `batch run` / `batch resume` print at the end (`--json` prints this object). */
export interface RunSummary {
  readonly job: string;
  readonly database: string;
  readonly output: string;
  /** Exit code the command ends with (README "Exit codes"). */
  readonly exitCode: number;
  /** Item counts of the whole job after this run. */
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  readonly pending: number;
  /** Prompts answered in earlier runs and not sent again. */
  readonly alreadyDone: number;
  /** Prompts whose content changed since the job started (sent again as new work). */
  readonly changed: number;
  /** Prompts that could not be read (recorded as failed). */
  readonly invalid: number;
  /** Identical deterministic prompts answered once and shared. */
  readonly deduplicated: number;
  /** Prompts answered from earlier jobs (`--cache`). */
  readonly cached: number;
  /** This run only. */
  readonly sent: number;
  readonly succeeded: number;
  readonly failedThisRun: number;
  readonly retries: number;
  /** This run's time sending: from the worker pool's start to its last answer (start-up, such as model loads before it, excluded). */
  readonly wallMs: number;
  /** Prompts this run finished (answered or failed, as the job's and each server's rates count them) per second of `wallMs`. */
  readonly requestsPerSecond: number;
  readonly completionTokens: number;
  /** Per second of `wallMs`. */
  readonly completionTokensPerSecond: number;
  readonly latencyMs: { readonly p50?: number; readonly p95?: number; readonly p99?: number };
  readonly ttftP50Ms?: number;
  readonly modelLoads: readonly ModelLoadStats[];
  /** Share of answers that found their model already loaded, where the server reports it. */
  readonly warmStartRate?: number;
  readonly interrupted: boolean;
  /** Set when the deadline (`--until`, `--for`) stopped the run with work left: what remains and how long it needs. */
  readonly deadline?: DeadlineSummary;
  /** The command that continues this job, when work is left. */
  readonly resumeCommand?: string;
  /** Set when a long run used the embedded server for want of llama-server: how much faster llama-server is, and how to get it. */
  readonly engineAdvice?: string;
  /** The whole job after this run: per model and per server, loads, failures by code, memory, GPU and the idle-GPU warning. */
  readonly insights?: JobInsights;
}

function ms(value: number | undefined): string {
  return value === undefined ? '-' : formatDuration(value);
}

/** The human-readable summary block. */
export function formatRunSummary(s: RunSummary): string {
  const lines = [
    `job ${s.job}: ${s.done}/${s.total} done, ${s.failed} failed, ${s.pending} pending`,
    `  this run: ${s.sent} sent, ${s.succeeded} ok, ${s.failedThisRun} failed, ${s.retries} retries in ${formatDuration(s.wallMs)}`,
    `  throughput: ${s.requestsPerSecond.toFixed(2)} req/s, ${s.completionTokensPerSecond.toFixed(1)} completion tokens/s (${s.completionTokens} tokens) over ${formatDuration(s.wallMs)} of sending (start-up excluded)`,
    `  latency: p50 ${ms(s.latencyMs.p50)}, p95 ${ms(s.latencyMs.p95)}, p99 ${ms(s.latencyMs.p99)}${s.ttftP50Ms === undefined ? '' : `, time to first token p50 ${ms(s.ttftP50Ms)}`}`,
  ];
  const skipped = [
    s.alreadyDone ? `${s.alreadyDone} already done` : '',
    s.changed ? `${s.changed} changed since the job started (sent again)` : '',
    s.deduplicated ? `${s.deduplicated} deduplicated` : '',
    s.cached ? `${s.cached} from cache` : '',
    s.invalid ? `${s.invalid} unreadable (see \`batch export ${s.job} --failed\`)` : '',
  ].filter(Boolean);
  if (skipped.length) lines.push(`  prompts: ${skipped.join(', ')}`);
  if (s.modelLoads.length) {
    lines.push(`  model loads: ${s.modelLoads.map((l) => `${l.model} ×${l.loads} (${formatDuration(l.loadMs)})`).join(', ')}`);
  }
  if (s.warmStartRate !== undefined) lines.push(`  warm starts: ${(s.warmStartRate * 100).toFixed(0)}%`);
  if (s.insights !== undefined) lines.push(...formatInsightLines(s.insights, `batch report ${s.job}`).map((line) => `  ${line}`));
  if (s.engineAdvice !== undefined) lines.push(`  engine: ${s.engineAdvice}`);
  lines.push(`  output: ${s.output}`, `  database: ${s.database}`);
  if (s.deadline !== undefined) lines.push(formatDeadlineLine(s.deadline, s.resumeCommand ?? `batch resume ${s.job}`));
  else if (s.interrupted) lines.push(`interrupted: nothing is lost; continue with: ${s.resumeCommand ?? `batch resume ${s.job}`}`);
  else if (s.resumeCommand) lines.push(`to continue: ${s.resumeCommand}`);
  return `${lines.join('\n')}\n`;
}
