import type { AppError } from '../errors.js';
import type { ItemOutcome } from '../store/item-outcome.js';

/** Where outcomes go: the checkpoint store's group-committing writer, or a no-op in benchmarks. */
export interface ResultSink {
  markRunning(customId: string): void;
  record(outcome: ItemOutcome): void;
  /** Set when the sink can no longer write; the scheduler stops dispatching. */
  readonly error: AppError | undefined;
}
