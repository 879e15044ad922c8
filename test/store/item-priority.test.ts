import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PromptRecord } from '../../src/prompts/prompt-item.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { chat, done, feed } from './fixtures.js';

let store: CheckpointStore;
beforeEach(() => {
  store = CheckpointStore.open({ path: ':memory:' });
});
afterEach(() => store.close());

const newJob = () => store.openJob({ name: 'j', config: {}, inputFingerprint: 'f' });

/** A chat record with a priority. */
function urgent(customId: string, index: number, priority: number, body: Record<string, unknown> = {}): PromptRecord {
  const record = chat(customId, index, body);
  if (!record.ok) throw new Error('chat() made an invalid record');
  return { ok: true, item: { ...record.item, priority } };
}

async function idsOf(items: AsyncIterable<{ readonly customId: string }>): Promise<string[]> {
  const ids: string[] = [];
  for await (const item of items) ids.push(item.customId);
  return ids;
}

describe('priorities in the store', () => {
  it('pages a model’s pending items by priority (highest first), then input order, across page boundaries', async () => {
    const job = newJob();
    const priorities = [0, 5, 0, 2.5, 5, -1, 0, 2.5];
    await store.ingest(job.id, feed(priorities.map((p, i) => urgent(`p${i}`, i, p))));
    expect(await idsOf(store.pendingItems(job.id, { model: null, pageSize: 2 }))).toEqual(['p1', 'p4', 'p3', 'p7', 'p0', 'p2', 'p6', 'p5']);
    expect(await idsOf(store.pendingItems(job.id, { model: null, pageSize: 100 }))).toEqual(['p1', 'p4', 'p3', 'p7', 'p0', 'p2', 'p6', 'p5']);
    // The scheduler reads it synchronously (no promise per prompt): the same items, the same order.
    expect([...store.pendingItems(job.id, { model: null, pageSize: 2 })].map((item) => item.customId)).toEqual(['p1', 'p4', 'p3', 'p7', 'p0', 'p2', 'p6', 'p5']);
  });

  it('orders models by the highest priority waiting for them, then input order of first use', async () => {
    const job = newJob();
    await store.ingest(job.id, feed([urgent('a', 0, 1, { model: 'a' }), urgent('b', 1, 0, { model: 'b' }), urgent('c', 2, 3, { model: 'c' }), urgent('b2', 3, 3, { model: 'b' })]));
    expect(store.pendingModels(job.id)).toEqual([
      { model: 'b', pending: 2, priority: 3 },
      { model: 'c', pending: 1, priority: 3 },
      { model: 'a', pending: 1, priority: 1 },
    ]);
  });

  it('a reader covers the items there when it began: those added later wait for one opened after it', async () => {
    const job = newJob();
    await store.ingest(job.id, feed([urgent('p0', 0, 0), urgent('p1', 1, 1)]));
    const reader = store.pendingItems(job.id, { model: null, pageSize: 1 })[Symbol.asyncIterator]();
    expect((await reader.next()).value?.customId).toBe('p1');
    await store.ingest(job.id, feed([urgent('p0', 0, 0), urgent('p1', 1, 1), urgent('p2', 2, 9)]));
    expect((await reader.next()).value?.customId).toBe('p0');
    expect((await reader.next()).done).toBe(true);
    expect(await idsOf(store.pendingItems(job.id, { model: null, afterIndex: 1 }))).toEqual(['p2']);
  });

  it('a changed priority on re-read moves the item without sending an answered prompt again', async () => {
    const job = newJob();
    await store.ingest(job.id, feed([urgent('a', 0, 0), urgent('b', 1, 0), urgent('c', 2, 0)]));
    const writer = store.createResultWriter(job.id);
    writer.record(done('a'));
    await writer.close();
    const again = await store.ingest(job.id, feed([urgent('a', 0, 7), urgent('b', 1, 0), urgent('c', 2, 4)]));
    expect(again).toMatchObject({ unchanged: 3, changed: 0, alreadyDone: 1 });
    expect(store.countByStatus(job.id)).toMatchObject({ done: 1, pending: 2 });
    expect(await idsOf(store.pendingItems(job.id, { model: null }))).toEqual(['c', 'b']);
  });
});
