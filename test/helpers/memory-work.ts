import type { AppError } from '../../src/errors.js';
import type { PromptItem } from '../../src/prompts/prompt-item.js';
import type { ResultSink, WorkSource } from '../../src/scheduler/batch-scheduler.js';
import type { ItemOutcome } from '../../src/store/item-outcome.js';

/** `count` chat prompts `prefix prompt i`, custom_id `idi`, naming no model. */
export function chatItems(count: number, prefix = 'p'): PromptItem[] {
  return Array.from({ length: count }, (_, i) => ({
    customId: `id${i}`,
    index: i,
    source: `in.jsonl:${i + 1}`,
    endpoint: '/v1/chat/completions' as const,
    body: { messages: [{ role: 'user', content: `${prefix} prompt ${i}` }] },
  }));
}

/** The scheduler's work source over prompts held in memory, one model group (the default). */
export function memorySource(list: readonly PromptItem[]): WorkSource {
  return {
    models: () => [{ model: null, pending: list.length }],
    async *items() {
      yield* list;
    },
  };
}

/** A sink that keeps every outcome in memory. */
export class MemorySink implements ResultSink {
  readonly outcomes: ItemOutcome[] = [];
  error: AppError | undefined;
  markRunning(): void {}
  record(outcome: ItemOutcome): void {
    this.outcomes.push(outcome);
  }
}
