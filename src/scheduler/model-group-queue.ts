import type { PromptItem } from '../prompts/prompt-item.js';

/** One model's pending prompts. `model` null: prompts that name no model (the default). */
export interface ModelGroup {
  readonly model: string | null;
}

interface GroupState extends ModelGroup {
  iterator: AsyncIterator<PromptItem> | undefined;
  /** Since when this group has been waiting for its turn. */
  waitingSince: number;
}

export interface ModelGroupQueueOptions {
  /** Longest wait of a group before it preempts the current one; 0 disables. */
  readonly maxWaitMs: number;
  readonly now: () => number;
}

/**
 * Hands out prompts one model at a time (so a model is loaded once, whatever the input order),
 * and bounds how long any model waits: a group that has waited `maxWaitMs` takes over and the
 * interrupted one goes to the back of the line, its reading position kept.
 */
export class ModelGroupQueue {
  readonly #groups: GroupState[];
  readonly #open: (model: string | null) => AsyncIterator<PromptItem>;
  readonly #options: ModelGroupQueueOptions;

  constructor(
    order: ReadonlyArray<string | null>,
    open: (model: string | null) => AsyncIterator<PromptItem>,
    options: ModelGroupQueueOptions,
  ) {
    const start = options.now();
    this.#groups = order.map((model) => ({ model, iterator: undefined, waitingSince: start }));
    this.#open = open;
    this.#options = options;
  }

  /** The next prompt and its group, or undefined when every group is drained. */
  async next(): Promise<{ readonly item: PromptItem; readonly group: ModelGroup } | undefined> {
    this.#preemptIfStarved();
    while (this.#groups.length > 0) {
      const current = this.#groups[0]!;
      current.iterator ??= this.#open(current.model);
      const result = await current.iterator.next();
      if (!result.done) return { item: result.value, group: current };
      this.#groups.shift();
    }
    return undefined;
  }

  /** Releases the readers of groups that were not drained (stop requested). */
  async close(): Promise<void> {
    await Promise.all(this.#groups.map((g) => g.iterator?.return?.()));
    this.#groups.length = 0;
  }

  #preemptIfStarved(): void {
    const { maxWaitMs, now } = this.#options;
    if (maxWaitMs <= 0 || this.#groups.length < 2) return;
    const at = now();
    let starved = -1;
    for (let i = 1; i < this.#groups.length; i++) {
      if (at - this.#groups[i]!.waitingSince >= maxWaitMs && (starved === -1 || this.#groups[i]!.waitingSince < this.#groups[starved]!.waitingSince)) {
        starved = i;
      }
    }
    if (starved === -1) return;
    const [next] = this.#groups.splice(starved, 1);
    const current = this.#groups.shift()!;
    current.waitingSince = at;
    this.#groups.unshift(next!);
    this.#groups.push(current);
  }
}
