import { PromptError } from '../errors.js';

/**
 * Refuses a custom_id seen before. Output lines, checkpoints and resume are keyed by custom_id,
 * so two prompts sharing one would overwrite each other's results. Holds one entry per prompt.
 */
export class DuplicateGuard {
  readonly #firstSource = new Map<string, string>();

  /** Records `customId`; throws DUPLICATE_CUSTOM_ID naming both places when it was seen before. */
  check(customId: string, source: string): void {
    const first = this.#firstSource.get(customId);
    if (first !== undefined) {
      throw new PromptError(
        'DUPLICATE_CUSTOM_ID',
        source,
        `duplicate custom_id ${JSON.stringify(customId)} (first at ${first}); custom_ids must be unique within a job: rename one`,
      );
    }
    this.#firstSource.set(customId, source);
  }
}
