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

/** A source still being read: prompts are added in steps, as chunks are committed. */
class GrowingSource {
  readonly items: Array<{ model: string | null; index: number; priority: number }> = [];
  readonly order: Array<string | null> = [];
  reading = true;
  #wake: () => void = () => undefined;
  #grown = this.#renew();

  add(...models: Array<string | null>): void {
    this.addWith(0, ...models);
  }

  /** Adds prompts of `priority`. */
  addWith(priority: number, ...models: Array<string | null>): void {
    for (const model of models) {
      this.items.push({ model, index: this.items.length, priority });
      if (!this.order.includes(model)) this.order.push(model);
    }
    this.#notify();
  }

  end(): void {
    this.reading = false;
    this.#notify();
  }

  open = (model: string | null, after: number): AsyncIterator<PromptItem> => {
    const items = this.items;
    let position = 0;
    return {
      async next() {
        for (; position < items.length; position++) {
          const item = items[position]!;
          if (item.model !== model || item.index <= after) continue;
          position += 1;
          return { done: false, value: { customId: `${model}-${item.index}`, index: item.index, source: 's', endpoint: '/v1/completions', body: {} } };
        }
        return { done: true, value: undefined };
      },
    };
  };

  /** As the store reads: one page, read when the reader is opened. */
  openPaged = (model: string | null, after: number): AsyncIterator<PromptItem> => {
    const page = this.items.filter((item) => item.model === model && item.index > after);
    let position = 0;
    return {
      async next() {
        const item = page[position++];
        if (item === undefined) return { done: true, value: undefined };
        return { done: false, value: { customId: `${model}-${item.index}`, index: item.index, source: 's', endpoint: '/v1/completions', body: {} } };
      },
    };
  };

  /** As the store reads with priorities: what is there when opened, highest priority first, then input order. */
  openByPriority = (model: string | null, after: number): AsyncIterator<PromptItem> => {
    const page = this.items.filter((item) => item.model === model && item.index > after).sort((x, y) => y.priority - x.priority || x.index - y.index);
    let position = 0;
    return {
      async next() {
        const item = page[position++];
        if (item === undefined) return { done: true, value: undefined };
        return { done: false, value: { customId: `${model}-${item.index}`, index: item.index, source: 's', endpoint: '/v1/completions', body: {}, priority: item.priority } };
      },
    };
  };

  growth = { growing: () => this.reading, grown: () => this.#grown, models: () => this.order };

  #renew(): Promise<void> {
    return new Promise<void>((resolve) => (this.#wake = resolve));
  }

  #notify(): void {
    const wake = this.#wake;
    this.#grown = this.#renew();
    wake();
  }
}

describe('ModelGroupQueue over a source that grows while it is read', () => {
  it('waits for more instead of ending, takes models that appear later, and ends once reading ended', async () => {
    const source = new GrowingSource();
    source.add('a', 'a');
    const queue = new ModelGroupQueue(['a'], source.open, { maxWaitMs: 0, now: () => 0, growth: source.growth });
    expect((await queue.next())?.item.customId).toBe('a-0');
    expect((await queue.next())?.item.customId).toBe('a-1');
    const waiting = queue.next();
    source.add('b', 'a');
    // The current model's prompt found later comes first: the model stays loaded.
    expect((await waiting)?.item.customId).toBe('a-3');
    const rest = drain(queue);
    source.add('a', 'b');
    source.end();
    expect(await rest).toEqual(['a-4', 'b-2', 'b-5']);
  });

  it('moves on to another model when the current one finds nothing new, and goes back to it in its turn', async () => {
    const source = new GrowingSource();
    source.add('a', 'b', 'b');
    const queue = new ModelGroupQueue(['a', 'b'], source.open, { maxWaitMs: 0, now: () => 0, growth: source.growth });
    expect((await queue.next())?.item.customId).toBe('a-0');
    const waiting = queue.next();
    // The reader is idle: nothing new for a, so b takes over (a waits at the back of the line).
    source.add();
    expect((await waiting)?.item.customId).toBe('b-1');
    source.add('a', 'b');
    expect((await queue.next())?.item.customId).toBe('b-2');
    expect((await queue.next())?.item.customId).toBe('b-4');
    const rest = drain(queue);
    source.end();
    expect(await rest).toEqual(['a-3']);
  });

  it('does not take the end of a page read before the last growth for the end of the group', async () => {
    const source = new GrowingSource();
    source.add('a', 'a');
    const queue = new ModelGroupQueue(['a'], source.openPaged, { maxWaitMs: 0, now: () => 0, growth: source.growth });
    expect((await queue.next())?.item.customId).toBe('a-0');
    // Its reader holds a page with a-1 only; a-2 and the end of reading come after that page.
    source.add('a');
    source.end();
    expect(await drain(queue)).toEqual(['a-1', 'a-2']);
  });

  it('stops waiting for more when its signal aborts', async () => {
    const source = new GrowingSource();
    const stop = new AbortController();
    const queue = new ModelGroupQueue([], source.open, { maxWaitMs: 0, now: () => 0, growth: source.growth, signal: stop.signal });
    const waiting = queue.next();
    stop.abort();
    expect(await waiting).toBeUndefined();
  });

  it('opens a reader again after the highest input position handed out, not the last (readers go by priority)', async () => {
    const source = new GrowingSource();
    source.addWith(0, 'a');
    source.addWith(5, 'a');
    const queue = new ModelGroupQueue(['a'], source.openByPriority, { maxWaitMs: 0, now: () => 0, growth: source.growth });
    expect((await queue.next())?.item.customId).toBe('a-1');
    expect((await queue.next())?.item.customId).toBe('a-0');
    const waiting = queue.next();
    source.addWith(9, 'a');
    // Opened after a-0 (the last handed out), the reader would hand a-1 out a second time.
    expect((await waiting)?.item.customId).toBe('a-2');
    const rest = drain(queue);
    source.end();
    expect(await rest).toEqual([]);
  });
});
