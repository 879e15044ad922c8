import type { BenchPhase, BenchResult } from '../store/benches.js';
import { formatDuration } from './format-duration.js';

function phaseLine(title: string, phase: BenchPhase): string {
  const l = phase.latencyMs;
  return `  ${title.padEnd(26)}${phase.requests} requests in ${formatDuration(phase.wallMs)}: ${phase.requestsPerS.toFixed(2)} req/s, ${phase.tokensPerS.toFixed(1)} tok/s, p50 ${formatDuration(l.p50)}  p95 ${formatDuration(l.p95)}  p99 ${formatDuration(l.p99)}`;
}

/**
 * What `batch bench` prints: cold loads against warm latency, one at a time against the pool, and
 * the two comparisons a user came for.
 */
export function formatBench(result: BenchResult & { readonly description: string; readonly job?: string; readonly database?: string }): string {
  const lines = [`bench ${result.description}`];
  if (result.coldLoadsMs.length > 0) {
    const mean = result.coldLoadsMs.reduce((a, b) => a + b, 0) / result.coldLoadsMs.length;
    lines.push(`  ${'cold load'.padEnd(26)}${result.coldLoadsMs.length} start(s): ${result.coldLoadsMs.map(formatDuration).join(', ')} (mean ${formatDuration(mean)})`);
  } else {
    lines.push(`  ${'cold load'.padEnd(26)}not measurable: a running server keeps its model loaded (bench a --model to time loads)`);
  }
  lines.push(`  ${'first request'.padEnd(26)}${formatDuration(result.firstRequestMs)}`);
  lines.push(phaseLine('warm, one at a time', result.sequential));
  lines.push(phaseLine(`pool, ${result.pool.concurrency} worker(s)`, result.pool));
  const warm = result.sequential.latencyMs.p50;
  if (result.coldLoadsMs.length > 0 && warm > 0) {
    const mean = result.coldLoadsMs.reduce((a, b) => a + b, 0) / result.coldLoadsMs.length;
    lines.push(`  ${'load vs warm'.padEnd(26)}a cold load costs ${(mean / warm).toFixed(1)}× a warm request (${formatDuration(mean)} against p50 ${formatDuration(warm)}): keep models loaded`);
  }
  lines.push(`  ${'pool vs one at a time'.padEnd(26)}×${result.speedUp.toFixed(2)} requests per second with ${result.pool.concurrency} worker(s)`);
  if (result.job !== undefined) lines.push(`  saved in job "${result.job}" (${result.database ?? ''}): \`batch report ${result.job}\` shows it`);
  return `${lines.join('\n')}\n`;
}
