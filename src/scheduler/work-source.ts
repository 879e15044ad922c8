import type { PromptItem } from '../prompts/prompt-item.js';
import type { GroupGrowth } from './model-group-queue.js';

/** Pending work, grouped by model so that each model's prompts run together. */
export interface WorkSource {
  /**
   * Models with pending prompts (null: prompts that name no model), by the highest priority
   * waiting for them, then in input order of first use.
   */
  models(): ReadonlyArray<{ readonly model: string | null; readonly pending: number; readonly priority?: number }>;
  /**
   * The pending prompts of one model, highest priority first, then in input order, read lazily;
   * with `afterIndex`, only those after that input position (a group read again after its
   * source grew: each reader covers what was there when it began). A synchronous `Iterable` is
   * read without a promise per prompt.
   */
  items(model: string | null, afterIndex?: number): Iterable<PromptItem> | AsyncIterable<PromptItem>;
  /**
   * Set while the inputs are still being read: prompts and models keep joining, and `models()`
   * is asked again after every growth. Absent: the source is complete when the run starts.
   */
  readonly growth?: GroupGrowth;
}
