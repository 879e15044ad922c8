import type { PromptItem } from '../prompts/prompt-item.js';
import type { GroupGrowth } from './model-group-queue.js';

/** Pending work, grouped by model so that each model's prompts run together. */
export interface WorkSource {
  /** Models with pending prompts (null: prompts that name no model), in input order of first use. */
  models(): ReadonlyArray<{ readonly model: string | null; readonly pending: number }>;
  /**
   * The pending prompts of one model, in input order, read lazily; with `afterIndex`, only those
   * after that input position (a group read again after its source grew).
   */
  items(model: string | null, afterIndex?: number): AsyncIterable<PromptItem>;
  /**
   * Set while the inputs are still being read: prompts and models keep joining, and `models()`
   * is asked again after every growth. Absent: the source is complete when the run starts.
   */
  readonly growth?: GroupGrowth;
}
