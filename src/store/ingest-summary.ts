/** What `ingest` found, compared with what the job already held. */
export interface IngestSummary {
  /** Records read. */
  readonly total: number;
  /** Items new to the job (valid ones; invalid ones count in `invalid`). */
  readonly added: number;
  /** Items whose request is the same as stored (their status is kept). */
  readonly unchanged: number;
  /** Items whose request differs from the stored one: reset to pending as new work. */
  readonly changed: number;
  /** The first 20 changed custom ids, to show the user. */
  readonly changedIds: readonly string[];
  /** Records that could not be read; stored as failed with `PROMPT_INVALID`. */
  readonly invalid: number;
  /** Unchanged items already done: they are not sent again. */
  readonly alreadyDone: number;
  /** Items whose request equals an earlier deterministic item: they get its answer. */
  readonly duplicates: number;
  /**
   * Items of the job no longer in its inputs: moved out of its items (and so out of its counts and
   * output) into `superseded_items`. Unreadable lines that are gone (fixed, or removed) are dropped.
   */
  readonly superseded: number;
  /** The first 20 superseded custom ids, to show the user. */
  readonly supersededIds: readonly string[];
  /** Reading was stopped (`signal`) before the inputs' end: the job holds only what was read. */
  readonly stopped: boolean;
}
