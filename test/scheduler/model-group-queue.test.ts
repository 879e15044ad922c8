import { describe, expect, it } from 'vitest';
import type { PromptItem } from '../../src/prompts/prompt-item.js';
import { ModelGroupQueue } from '../../src/scheduler/model-group-queue.js';

function open(model: string | null): AsyncIterator<PromptItem> {
  let i = 0;
  return {
    async next() {
      if (i >= 3) return { done: true, value: undefined };
      i += 1;
      return { done: false, value: { customId: `${model}-${i}`, index: i, source: 's', endpoint: '/v1/completions', body: {} } };
    },
  };
}

async function drain(queue: ModelGroupQueue, tick?: () => void): Promise<string[]> {
  const ids: string[] = [];
  for (let next = await queue.next(); next; next = await queue.next()) {
    ids.push(next.item.customId);
    tick?.();
  }
  return ids;
}

describe('ModelGroupQueue', () => {
  it('drains one model before the next', async () => {
    const queue = new ModelGroupQueue(['a', 'b'], open, { maxWaitMs: 0, now: () => 0 });
    expect(await drain(queue)).toEqual(['a-1', 'a-2', 'a-3', 'b-1', 'b-2', 'b-3']);
  });

  it('lets a model that waited maxWaitMs take over, keeping the interrupted reading position', async () => {
    let clock = 0;
    const queue = new ModelGroupQueue(['a', 'b'], open, { maxWaitMs: 10, now: () => clock });
    expect(await drain(queue, () => (clock += 6))).toEqual(['a-1', 'a-2', 'b-1', 'b-2', 'a-3', 'b-3']);
  });
});
