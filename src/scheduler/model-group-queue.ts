import type { PromptItem } from '../prompts/prompt-item.js';

/** Reads one model's pending prompts. */
export type PromptReader = Iterator<PromptItem> | AsyncIterator<PromptItem>;

/** One model's pending prompts. `model` null: prompts that name no model (the default). */
export interface ModelGroup {
  readonly model: string | null;
}

interface GroupState extends ModelGroup {
  iterator: PromptReader | undefined;
  /** The pass of `next()` that opened `iterator`: its end says nothing about what came after. */
  openedIn: number;
  /** Highest input position handed out: a reader opened again starts after it. */
  lastIndex: number;
  /** Since when this group has been waiting for its turn. */
  waitingSince: number;
}

/**
 * Work that is still being read: more prompts, and more models, may come. Absent: the groups
 * given to the constructor are all there is.
 */
export interface GroupGrowth {
  /** Whether more prompts may still come. Once false, it stays false. */
  growing(): boolean;
  /** Resolves once more prompts may be there (a chunk was stored, or the reader went idle) or reading ended. */
  grown(): Promise<void>;
  /** Every model with prompts so far, in input order of first use; new ones join the end of the line. */
  models(): ReadonlyArray<string | null>;
}

export interface ModelGroupQueueOptions {
  /** Longest wait of a group before it preempts the current one; 0 disables. */
  readonly maxWaitMs: number;
  readonly now: () => number;
  /** The source grows while it is read. @default undefined (it does not) */
  readonly growth?: GroupGrowth;
  /** Ends a wait for growth: `next()` then returns undefined. */
  readonly signal?: AbortSignal;
}

/**
 * Hands out prompts one model at a time (so a model is loaded once, whatever the input order),
 * and bounds how long any model waits: a group that has waited `maxWaitMs` takes over and the
 * interrupted one goes to the back of the line, its reading position kept.
 *
 * While the source is still being read, a group whose known prompts are all handed out is not
 * done: its prompts found later join it. The current group gets one growth of the source to find
 * more before the next group with prompts takes its place (it goes to the back of the line).
 */
export class ModelGroupQueue {
  readonly #groups: GroupState[];
  /** Every model ever queued: a drained group is not queued again when the source lists it. */
  readonly #known = new Set<string | null>();
  readonly #open: (model: string | null, afterIndex: number) => PromptReader;
  readonly #options: ModelGroupQueueOptions;
  /** Counts the looks at the source (each reads whether it still grows). */
  #pass = 0;

  constructor(
    order: ReadonlyArray<string | null>,
    open: (model: string | null, afterIndex: number) => PromptReader,
    options: ModelGroupQueueOptions,
  ) {
    const start = options.now();
    this.#groups = [];
    this.#open = open;
    this.#options = options;
    for (const model of order) this.#adopt(model, start);
  }

  /** The next prompt and its group, or undefined when every group is drained (or the wait for more was stopped). */
  async next(): Promise<{ readonly item: PromptItem; readonly group: ModelGroup } | undefined> {
    const { growth, signal } = this.#options;
    // The current group gets one growth to refill before another model takes over.
    let patient = true;
    for (;;) {
      this.#pass += 1;
      if (growth) for (const model of growth.models()) this.#adopt(model, this.#options.now());
      this.#preemptIfStarved();
      // Both read before pulling: a source that has stopped growing has committed everything it
      // read, and a growth while pulling must end the wait below, not be missed by it.
      const reading = growth?.growing() ?? false;
      const grown = reading ? growth!.grown() : undefined;
      for (let i = 0; i < this.#groups.length; ) {
        const group = this.#groups[i]!;
        const item = await this.#pull(group);
        if (item !== undefined) {
          if (i > 0) this.#promote(i);
          return { item, group };
        }
        if (!reading) {
          this.#groups.splice(i, 1);
          continue;
        }
        if (patient) break;
        i += 1;
      }
      if (!reading) {
        if (this.#groups.length === 0) return undefined;
        continue;
      }
      patient = false;
      if (signal?.aborted) return undefined;
      await untilAborted(grown!, signal);
      if (signal?.aborted) return undefined;
    }
  }

  /** Releases the readers of groups that were not drained (stop requested). */
  async close(): Promise<void> {
    await Promise.all(this.#groups.map((g) => g.iterator?.return?.()));
    this.#groups.length = 0;
  }

  #adopt(model: string | null, at: number): void {
    if (this.#known.has(model)) return;
    this.#known.add(model);
    this.#groups.push({ model, iterator: undefined, openedIn: 0, lastIndex: -1, waitingSince: at });
  }

  /**
   * The group's next prompt, or undefined when it has none now. A reader reads pages: one opened
   * before this pass may end on a page read before the source's last growth (or before its
   * end), so it is opened again, after `lastIndex`, before the group counts as drained (a
   * growing source's `open` must honour `afterIndex`).
   */
  async #pull(group: GroupState): Promise<PromptItem | undefined> {
    for (;;) {
      if (group.iterator === undefined) {
        group.iterator = this.#open(group.model, group.lastIndex);
        group.openedIn = this.#pass;
      }
      // A synchronous reader (the job's database) costs no promise per prompt.
      const step = group.iterator.next();
      const result = step instanceof Promise ? await step : step;
      if (!result.done) {
        // A reader yields by priority, not input position: one opened again starts after the
        // highest position handed out (everything before its end was in the last reader's view).
        group.lastIndex = Math.max(group.lastIndex, result.value.index);
        return result.value;
      }
      group.iterator = undefined;
      // A source that does not grow has nothing its readers could have missed.
      if (this.#options.growth === undefined || group.openedIn === this.#pass) return undefined;
    }
  }

  /** Group `i` has prompts and the ones before it have none for now: they wait at the back of the line. */
  #promote(i: number): void {
    const at = this.#options.now();
    const drained = this.#groups.splice(0, i);
    for (const group of drained) group.waitingSince = at;
    this.#groups.push(...drained);
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

/** `promise`, or undefined as soon as `signal` aborts. */
function untilAborted(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return promise;
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
