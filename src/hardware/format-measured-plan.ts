import type { ConcurrencyCurve } from './concurrency-curve.js';
import { formatCurve } from './format-curve.js';

/** The plan a measured server gets: the one number the measurement decides, and the command that applies it. */
export interface MeasuredPlan {
  /** Requests in flight (`--workers`): the measured knee of the curve. */
  readonly workers: number;
  /** `batch run` against the measured server with that many workers. */
  readonly batchRun: string;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The plan for a server `batch` does not start (`optimize --measure --server`): its slots, context
 * and models are the server's own, so only the measured concurrency applies. The estimate from
 * this machine's memory (an assumed model on the CPU) would contradict it and is not shown.
 */
export function measuredPlan(curve: ConcurrencyCurve, inputs: readonly string[]): MeasuredPlan {
  const prompts = inputs.length > 0 ? inputs.map(quote) : ['PROMPTS'];
  return { workers: curve.recommended, batchRun: ['batch', 'run', ...prompts, '--server', quote(curve.url), '--workers', String(curve.recommended)].join(' ') };
}

/** The measured curve, then the command that applies it. */
export function formatMeasuredPlan(curve: ConcurrencyCurve, plan: MeasuredPlan): string {
  return `${formatCurve(curve).trimEnd()}\n\nCommand:\n  ${plan.batchRun}\n`;
}
