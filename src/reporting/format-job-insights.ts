import { formatTable } from '../hardware/format-table.js';
import type { GroupStats } from '../store/group-stats.js';
import type { JobInsights } from './job-insights.js';
import type { JobStats, Percentiles } from '../store/job-stats.js';
import { formatDuration } from './format-duration.js';

/** `12.3 MiB`, `1.20 GiB`: memory as people read it. */
export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  const abs = Math.abs(bytes);
  if (abs >= 2 ** 30) return `${sign}${(abs / 2 ** 30).toFixed(2)} GiB`;
  if (abs >= 2 ** 20) return `${sign}${(abs / 2 ** 20).toFixed(1)} MiB`;
  if (abs >= 1024) return `${sign}${(abs / 1024).toFixed(1)} KiB`;
  return `${sign}${Math.round(abs)} B`;
}

export function formatPct(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio > 0.999 || ratio < 0.001 ? 0 : 1)}%`;
}

const ms = (value: number | undefined): string => (value === undefined ? '-' : formatDuration(value));

function percentilesText(p: Percentiles | null): string {
  return p === null ? '-' : `${ms(p.p50)} / ${ms(p.p95)} / ${ms(p.p99)}`;
}

/**
 * What the job's rates are over, after "over 3.6s": its time on the clock, start-up included (and
 * the pauses between runs, if resumed), unlike a model's or server's rates (`groupRatesText`).
 */
export function jobSpanText(stats: Pick<JobStats, 'runs'>): string {
  return stats.runs > 1 ? `since the first of ${stats.runs} runs started (start-up and pauses between runs included)` : 'since the run started (start-up included)';
}

/** What the rates of a model or server are over (`GroupStats.spanMs`). */
export const groupRatesText = "rates over each one's own span, first request to last answer";

/**
 * A model's or server's requests/s and tokens/s as shown, `-` for a group of one request: its
 * span is that request's own latency, and one over a latency is no rate.
 */
export function groupRateTexts(group: GroupStats): { readonly requestsPerS: string; readonly tokensPerS: string } {
  if (group.requests < 2) return { requestsPerS: '-', tokensPerS: '-' };
  return { requestsPerS: group.requestsPerS.toFixed(2), tokensPerS: group.tokensPerS.toFixed(1) };
}

/** `throughput  61.86 req/s, 1480.2 completion tokens/s over 485ms since the run started (start-up included)`. */
export function jobThroughputLine(stats: JobStats): string {
  return `throughput  ${stats.requestsPerSecond.toFixed(2)} req/s, ${stats.completionTokensPerSecond.toFixed(1)} completion tokens/s over ${formatDuration(stats.wallMs)} ${jobSpanText(stats)}`;
}

/** One line per group for the short forms: `m1  120 req  3.20 req/s  51.0 tok/s  p50 100ms p95 … p99 …`. */
function groupLine(group: GroupStats, width: number): string {
  const failed = group.failed > 0 ? ` (${group.failed} failed)` : '';
  const latency = group.latencyMs === null ? '' : `  p50 ${ms(group.latencyMs.p50)} p95 ${ms(group.latencyMs.p95)} p99 ${ms(group.latencyMs.p99)}`;
  const ttft = group.ttftMs === null ? '' : `  ttft p50 ${ms(group.ttftMs.p50)}`;
  const rates = groupRateTexts(group);
  const rateText = group.requests < 2 ? '' : `  ${rates.requestsPerS} req/s  ${rates.tokensPerS} tok/s`;
  return `  ${group.key.padEnd(width)}  ${group.requests} req${failed}${rateText}${latency}${ttft}`;
}

/** Groups shown in the short forms; `batch report` shows them all. */
const shortGroups = 5;

function groupLines(title: string, groups: readonly GroupStats[], command: string | undefined): string[] {
  if (groups.length === 0) return [];
  const shown = groups.slice(0, shortGroups);
  const width = Math.min(48, Math.max(...shown.map((g) => g.key.length)));
  const lines = [title, ...shown.map((g) => groupLine(g, width))];
  if (groups.length > shown.length) lines.push(`  … ${groups.length - shown.length} more${command === undefined ? '' : ` (\`${command}\` lists them all)`}`);
  return lines;
}

function loadsLine(insights: JobInsights): string | undefined {
  const { loads } = insights;
  if (loads.prompts === 0) return undefined;
  const parts = [`${loads.loads} model load(s)`];
  if (loads.cacheHitRatio !== null) parts.push(`${formatPct(loads.cacheHitRatio)} of prompts served without a load`);
  if (loads.warmStartRate !== null) parts.push(`warm starts ${formatPct(loads.warmStartRate)} of ${loads.loadReported} reporting`);
  return `loads       ${parts.join(', ')}`;
}

function counted(list: ReadonlyArray<{ readonly code: string; readonly count: number }>): string {
  return list.map((entry) => `${entry.code} ${entry.count}`).join(', ');
}

function memoryLine(insights: JobInsights): string {
  const { memory } = insights;
  if (memory === null) return 'memory      no samples';
  const growth =
    memory.growthPer1000PromptsBytes === null ? '' : `; ${memory.growthPer1000PromptsBytes >= 0 ? '+' : ''}${formatBytes(memory.growthPer1000PromptsBytes)} per 1,000 prompts`;
  return `memory      RSS ${formatBytes(memory.startBytes)} at start, ${formatBytes(memory.peakBytes)} peak, ${formatBytes(memory.endBytes)} at end${growth}`;
}

function gpuLine(insights: JobInsights): string {
  const { gpu } = insights;
  if (gpu === null) return insights.sampleCount === 0 ? 'GPU         no samples' : 'GPU         no GPU samples (none found, or nvidia-smi unavailable)';
  return `GPU         mean ${gpu.meanUtilizationPct.toFixed(0)}% utilisation over ${gpu.samples} sample(s) (${gpu.names.join(', ')})`;
}

/**
 * The short lines `batch status` and the end of a run add: per model and per server, loads and
 * cache hits, failures by code, memory, GPU and the idle-GPU warning. `command` is the one that
 * lists what the short form leaves out.
 */
export function formatInsightLines(insights: JobInsights, command?: string): string[] {
  const lines: string[] = [];
  lines.push(...groupLines(`per model (${groupRatesText})`, insights.perModel, command));
  lines.push(...groupLines(`per server (${groupRatesText})`, insights.perServer, command));
  const loads = loadsLine(insights);
  if (loads !== undefined) lines.push(loads);
  if (insights.failuresByCode.length > 0) lines.push(`failures    ${counted(insights.failuresByCode)}`);
  if (insights.retryCauses.length > 0) lines.push(`retries     ${counted(insights.retryCauses)}`);
  lines.push(...fallbackLines(insights));
  if (insights.sampleCount > 0) lines.push(memoryLine(insights), gpuLine(insights));
  if (insights.warning !== undefined) lines.push(`warning     ${insights.warning}`);
  return lines;
}

/** One line per fallback: "fallback    12 prompts of m1 answered by m2 (m1's server could not start (MODEL_INVALID))". */
function fallbackLines(insights: JobInsights): string[] {
  return insights.fallbacks.map(
    (f) => `fallback    ${f.count} prompt(s) of ${f.from} answered by ${f.model ?? 'another model'} (fallback: ${f.from}'s ${f.reason ?? 'server could not serve them'})`,
  );
}

function groupTable(groups: readonly GroupStats[], keyHeader: string): string {
  return formatTable(
    [keyHeader, 'requests', 'failed', 'req/s', 'tokens/s', 'latency p50/p95/p99', 'TTFT p50/p95/p99', 'warm'],
    groups.map((g) => [
      g.key,
      String(g.requests),
      String(g.failed),
      groupRateTexts(g).requestsPerS,
      groupRateTexts(g).tokensPerS,
      percentilesText(g.latencyMs),
      percentilesText(g.ttftMs),
      g.loadReported > 0 ? formatPct(g.warmStarts / g.loadReported) : '-',
    ]),
  );
}

/** `batch report`'s terminal tables: every model and server, every failure code, loads, memory and GPU. */
export function formatInsightTables(insights: JobInsights): string[] {
  const { stats } = insights;
  const { counts } = stats;
  const blocks: string[] = [
    `prompts     ${counts.total} total: ${counts.done} done, ${counts.failed} failed, ${counts.pending} pending, ${counts.running} running`,
    jobThroughputLine(stats),
  ];
  if (stats.latencyMs !== null) blocks.push(`latency     p50 ${ms(stats.latencyMs.p50)}  p95 ${ms(stats.latencyMs.p95)}  p99 ${ms(stats.latencyMs.p99)}`);
  const loads = loadsLine(insights);
  if (loads !== undefined) blocks.push(loads);
  blocks.push(memoryLine(insights), gpuLine(insights));
  if (insights.warning !== undefined) blocks.push(`warning     ${insights.warning}`);
  if (insights.perModel.length > 0) blocks.push('', `Per model (${groupRatesText})`, groupTable(insights.perModel, 'model'));
  if (insights.perServer.length > 0) blocks.push('', `Per server (${groupRatesText})`, groupTable(insights.perServer, 'server'));
  if (insights.failuresByCode.length > 0) blocks.push('', 'Failures by code', formatTable(['code', 'prompts'], insights.failuresByCode.map((f) => [f.code, String(f.count)])));
  if (insights.fallbacks.length > 0) blocks.push('', ...fallbackLines(insights));
  if (insights.retryCauses.length > 0) blocks.push('', 'Retries by cause', formatTable(['code', 'attempts'], insights.retryCauses.map((f) => [f.code, String(f.count)])));
  return blocks;
}
