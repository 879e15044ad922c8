import { AppError } from '../../errors.js';
import { formatInputShard } from '../../prompts/input-shard.js';
import type { CheckpointStore } from '../../store/checkpoint-store.js';
import type { StatusCounts } from '../../store/store-records.js';
import type { RunIngest } from './run-ingest.js';
import type { RunPlan } from './run-plan.js';

export interface SettleWorkOptions {
  readonly store: CheckpointStore;
  readonly plan: RunPlan;
  readonly jobId: number;
  readonly isNewJob: boolean;
  readonly ingest: RunIngest;
  /** `--retry-failed`: failed prompts are sent again. */
  readonly retryFailed: boolean;
  /** `--cache`: prompts answered by earlier jobs are not sent. */
  readonly cache: boolean;
  readonly notice?: (line: string) => void;
}

/** The job's work once its inputs are read: its counts before sending, and the prompts the cache answered. */
export interface SettledWork {
  readonly before: StatusCounts;
  readonly cached: number;
}

/**
 * Between reading and sending: says what reading changed, puts interrupted (and with
 * `--retry-failed`, failed) prompts back to pending, applies the cache, and refuses a run that
 * has nothing to send because of its input (every prompt unreadable, none found, stopped before any).
 */
export function settleWork(options: SettleWorkOptions): SettledWork {
  const { store, plan, jobId, ingest } = options;
  const summary = ingest.summary;
  // A new job whose every prompt is unreadable has nothing to send: an input error, not a run.
  if (options.isNewJob && summary !== undefined && summary.total > 0 && summary.invalid === summary.total) {
    throw new AppError('PROMPT_INVALID', `nothing to send: all ${summary.total} prompt(s) read are invalid, the first: ${ingest.invalid.first ?? '?'}; fix them and run the same command again`);
  }
  if (summary?.changed) {
    options.notice?.(`${summary.changed} prompt(s) changed since the job started and will be sent again: ${listed(summary.changedIds, summary.changed)}`);
  }
  if (summary?.superseded) {
    options.notice?.(`${summary.superseded} prompt(s) are no longer in the inputs and leave the output (\`batch status ${plan.job}\` lists them): ${listed(summary.supersededIds, summary.superseded)}`);
  }
  store.resetInterrupted(jobId);
  if (options.retryFailed) store.resetFailed(jobId);
  const cached = options.cache ? store.applyCache(jobId) : 0;
  const before = store.countByStatus(jobId);
  if (before.total === 0 && summary?.stopped === true) {
    throw new AppError('INTERRUPTED', `stopped while reading ${plan.inputs.join(', ')}, before any prompt was read`);
  }
  const sources = [...plan.inputs, ...(plan.template === undefined ? [] : plan.template.data.map((file) => file.path))].join(', ');
  if (before.total === 0 && plan.share !== undefined && (ingest.read.seen > 0 || !plan.reread)) {
    options.notice?.(`shard ${formatInputShard(plan.share)} holds none of the prompts of ${sources}: nothing to send`);
  } else if (before.total === 0) {
    throw new AppError('NO_PROMPTS', `no prompts found in ${sources}; expected .txt/.md files, JSONL lines or --data rows`);
  }
  return { before, cached };
}

/** Some ids of `count`, with an ellipsis when there are more. */
function listed(ids: readonly string[], count: number): string {
  return `${ids.join(', ')}${count > ids.length ? ', …' : ''}`;
}
