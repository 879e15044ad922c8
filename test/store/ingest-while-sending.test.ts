import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PromptRecord } from '../../src/prompts/prompt-item.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import type { IngestChunk } from '../../src/store/item-ingester.js';
import { chat, done, feed, invalid } from './fixtures.js';

let store: CheckpointStore;
beforeEach(() => {
  store = CheckpointStore.open({ path: ':memory:' });
});
afterEach(() => store.close());

const newJob = (name = 'j') => store.openJob({ name, config: {}, inputFingerprint: 'f' });

/** Records that come in two parts: the second only once `release` is called. */
function twoParts(first: readonly PromptRecord[], second: readonly PromptRecord[]): { records: AsyncIterable<PromptRecord>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  async function* records(): AsyncGenerator<PromptRecord> {
    yield* first;
    await gate;
    yield* second;
  }
  return { records: records(), release };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 2000) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('ingest for a run that sends while it reads', () => {
  it('commits what was read as soon as the reader waits, telling the pending count and the models in order', async () => {
    const job = newJob();
    const chunks: IngestChunk[] = [];
    const { records, release } = twoParts(
      [chat('a', 0, { model: 'x' }), chat('b', 1, { model: 'y' }), invalid('c', 2), chat('d', 3, { model: 'x', temperature: 0 }), chat('e', 4, { model: 'x', temperature: 0, messages: [{ role: 'user', content: 'd' }] })],
      [chat('f', 5)],
    );
    const ingesting = store.ingest(job.id, records, { onChunk: (chunk) => chunks.push(chunk) });
    await until(() => chunks.length === 1);
    // Committed and pending while the reader still waits for the rest.
    expect(store.countByStatus(job.id)).toMatchObject({ pending: 4, failed: 1 });
    // e duplicates d's request: pending, but it is not sent, so it names no model of its own.
    expect(chunks[0]).toEqual({ fromIndex: 0, toIndex: 5, pending: 4, models: ['x', 'y'], topPriorities: new Map([['x', 0], ['y', 0]]) });
    release();
    const summary = await ingesting;
    expect(chunks[1]).toEqual({ fromIndex: 5, toIndex: 6, pending: 1, models: [null], topPriorities: new Map([[null, 0]]) });
    expect(summary).toMatchObject({ total: 6, added: 5, invalid: 1, duplicates: 1, stopped: false });
  });

  it('refuses a duplicate custom_id while duplicates may not fail a line, naming both places', async () => {
    const job = newJob();
    await expect(store.ingest(job.id, feed([chat('a', 0), chat('b', 1), chat('a', 2)]))).rejects.toThrow(
      'in.jsonl:3: duplicate custom_id "a" (first at in.jsonl:1); custom_ids must be unique within a job: rename one',
    );
  });

  it('fails only the line of a duplicate custom_id once duplicates may fail a line, keeping the first', async () => {
    const job = newJob();
    const errors: string[] = [];
    const summary = await store.ingest(job.id, feed([chat('a', 0), invalid('in.jsonl:3', 1), chat('a', 2), invalid('b', 3), invalid('b', 4)]), {
      duplicateFailsLine: () => true,
      onLineError: (message) => errors.push(message),
    });
    expect(summary).toMatchObject({ total: 5, added: 1, invalid: 4 });
    expect(errors).toEqual([
      'in.jsonl:3: duplicate custom_id "a" (first at in.jsonl:1); custom_ids must be unique within a job: rename one',
      'in.jsonl:5: duplicate custom_id "b" (first at in.jsonl:4); custom_ids must be unique within a job: rename one',
    ]);
    const items = [];
    for await (const item of store.finishedItems(job.id)) items.push(item);
    // The place of line 3 is taken (by an unreadable line's id): the duplicate gets the next free key.
    expect(items.map((item) => [item.customId, item.error?.message.includes('duplicate') ?? false])).toEqual([
      ['in.jsonl:3', false],
      ['in.jsonl:3#2', true],
      ['b', false],
      ['in.jsonl:5', true],
    ]);
    expect(store.countByStatus(job.id)).toMatchObject({ pending: 1, failed: 4 });
  });

  it('stops reading when its signal aborts, keeping what was committed and superseding nothing', async () => {
    const job = newJob();
    await store.ingest(job.id, feed([chat('a', 0), chat('b', 1)]));
    const stop = new AbortController();
    const { records } = twoParts([chat('a', 0)], [chat('b', 1)]);
    const ingesting = store.ingest(job.id, records, { signal: stop.signal });
    stop.abort();
    const summary = await ingesting;
    expect(summary.stopped).toBe(true);
    // b was not read again, but reading stopped: it is not taken out of the job.
    expect(summary.superseded).toBe(0);
    expect(store.countByStatus(job.id).total).toBe(2);
  });

  it("gives a duplicate read after its primary finished the primary's answer with its chunk", async () => {
    const job = newJob();
    const chunks: IngestChunk[] = [];
    const { records, release } = twoParts([chat('p', 0, { temperature: 0 })], [chat('d', 1, { temperature: 0, messages: [{ role: 'user', content: 'p' }] })]);
    const ingesting = store.ingest(job.id, records, { onChunk: (chunk) => chunks.push(chunk) });
    await until(() => chunks.length === 1);
    const writer = store.createResultWriter(job.id, {});
    writer.record(done('p'));
    await writer.close();
    release();
    await until(() => chunks.length === 2);
    expect(store.countByStatus(job.id)).toMatchObject({ done: 2, pending: 0 });
    await ingesting;
  });
});
