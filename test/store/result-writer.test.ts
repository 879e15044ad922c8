import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { connectionOf } from '../../src/store/connection-of.js';
import type { StoreError } from '../../src/errors.js';
import { chat, done, feed } from './fixtures.js';

let store: CheckpointStore;
let jobId: number;
const statusOf = (id: string): unknown => connectionOf(store).prepare('SELECT status FROM items WHERE custom_id = ?').pluck().get(id);

beforeEach(async () => {
  store = CheckpointStore.open({ path: ':memory:' });
  jobId = store.openJob({ name: 'w', config: {}, inputFingerprint: 'f' }).id;
  await store.ingest(jobId, feed([chat('a', 0, { temperature: 0 }), chat('b', 1), chat('c', 2), chat('a2', 3, { temperature: 0, messages: [{ role: 'user', content: 'a' }] })]));
});
afterEach(() => {
  vi.useRealTimers();
  store.close();
});

describe('ResultWriter', () => {
  it('commits nothing before the interval and everything after it', async () => {
    vi.useFakeTimers();
    const writer = store.createResultWriter(jobId, { flushIntervalMs: 100 });
    writer.markRunning('b');
    writer.record(done('c'));
    vi.advanceTimersByTime(99);
    expect([statusOf('b'), statusOf('c')]).toEqual(['pending', 'pending']);
    vi.advanceTimersByTime(1);
    expect([statusOf('b'), statusOf('c')]).toEqual(['running', 'done']);
    expect(writer.pending).toBe(0);
    await writer.close();
  });

  it('commits at once when the buffer reaches maxBatch', async () => {
    vi.useFakeTimers();
    const writer = store.createResultWriter(jobId, { flushIntervalMs: 10_000, maxBatch: 2 });
    writer.record(done('b'));
    expect(statusOf('b')).toBe('pending');
    writer.record(done('c'));
    expect([statusOf('b'), statusOf('c')]).toEqual(['done', 'done']);
    await writer.close();
  });

  it('gives duplicates their primary result and accumulates attempts across runs', async () => {
    const writer = store.createResultWriter(jobId);
    writer.record({ ...done('a'), attempts: 2 });
    await writer.flush();
    const dup = connectionOf(store).prepare(`SELECT status, response, attempts, latency_ms FROM items WHERE custom_id = 'a2'`).get() as Record<string, unknown>;
    expect(dup).toMatchObject({ status: 'done', attempts: 0, latency_ms: null });
    expect(JSON.parse(dup.response as string)).toMatchObject({ request_id: 'req-a' });
    writer.record({ ...done('a'), attempts: 1 });
    await writer.close();
    expect(connectionOf(store).prepare(`SELECT attempts FROM items WHERE custom_id = 'a'`).pluck().get()).toBe(3);
  });

  it('keeps the buffer and reports STORE_WRITE_FAILED once when the disk is full', async () => {
    const errors: StoreError[] = [];
    const writer = store.createResultWriter(jobId, { onError: (e) => errors.push(e) });
    writer.record(done('b'));
    await writer.flush();
    const pages = connectionOf(store).pragma('page_count', { simple: true }) as number;
    connectionOf(store).pragma(`max_page_count = ${pages}`);
    const big = { choices: [{ message: { content: 'x'.repeat(200_000) } }] };
    writer.record(done('c', { response: { statusCode: 200, requestId: 'r', body: big } }));
    await expect(writer.flush()).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED', message: expect.stringContaining('results already recorded are safe: free space') });
    writer.record(done('a'));
    await expect(writer.close()).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED' });
    expect(errors).toHaveLength(1);
    expect(writer.error?.code).toBe('STORE_WRITE_FAILED');
    expect(writer.pending).toBe(2);
    expect([statusOf('b'), statusOf('c'), statusOf('a')]).toEqual(['done', 'pending', 'pending']);
  });
});
