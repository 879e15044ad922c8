import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// The built modules: the writer thread runs compiled JavaScript (`npm test` builds it first).
import { CheckpointStore } from '../../dist/store/checkpoint-store.js';
import { connectionOf } from '../../dist/store/connection-of.js';
import { ThreadedResultWriter } from '../../dist/store/threaded-result-writer.js';

async function* records(count: number) {
  for (let i = 0; i < count; i++) {
    yield { ok: true as const, item: { customId: `c${i}`, index: i, source: `in.jsonl:${i + 1}`, endpoint: '/v1/chat/completions' as const, body: { messages: [{ role: 'user', content: `q${i}` }] } } };
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-threaded-writer-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('ThreadedResultWriter', () => {
  it('commits on its own thread what the main thread records, and stops the thread on close', async () => {
    const store = CheckpointStore.open({ path: path.join(dir, 'job.sqlite') });
    const job = store.openJob({ name: 'job', config: {}, inputFingerprint: 'f' });
    await store.ingest(job.id, records(1200));
    const writer = new ThreadedResultWriter({ path: store.path, jobId: job.id, maxBatch: 500 }, ThreadedResultWriter.workerScript()!);
    for (let i = 0; i < 1200; i++) {
      writer.markRunning(`c${i}`);
      if (i % 2 === 0) {
        writer.record({ customId: `c${i}`, status: 'done', attempts: 1, response: { statusCode: 200, requestId: `r${i}`, body: { choices: [{ message: { content: `a${i}` } }] } }, finishedAt: Date.now(), latencyMs: 5 });
      }
    }
    await writer.flush();
    expect(store.countByStatus(job.id)).toMatchObject({ done: 600, running: 600, pending: 0, total: 1200 });
    writer.record({ customId: 'c1', status: 'failed', attempts: 2, error: { code: 'SERVER_ERROR', message: 'boom' }, finishedAt: Date.now() });
    await writer.close();
    expect(writer.error).toBeUndefined();
    expect(store.countByStatus(job.id)).toMatchObject({ done: 600, failed: 1, running: 599 });
    expect(() => writer.record({ customId: 'c3', status: 'done', attempts: 1, finishedAt: 0 })).toThrow(/closed/);
    store.close();
  });

  it('records when the main thread took a prompt, not when the thread got the mark: a start never falls after its finish', async () => {
    const store = CheckpointStore.open({ path: path.join(dir, 'job.sqlite') });
    const job = store.openJob({ name: 'job', config: {}, inputFingerprint: 'f' });
    await store.ingest(job.id, records(2));
    const writer = new ThreadedResultWriter({ path: store.path, jobId: job.id, flushIntervalMs: 60_000 }, ThreadedResultWriter.workerScript()!);
    const taken = Date.now();
    writer.markRunning('c0');
    writer.record({ customId: 'c0', status: 'failed', attempts: 1, error: { code: 'SERVER_ERROR', message: 'boom' }, finishedAt: taken });
    writer.markRunning('c1');
    // The group reaches the thread later than the prompts were taken, as a group commit does.
    await new Promise((resolve) => setTimeout(resolve, 30));
    await writer.close();
    const rows = connectionOf(store).prepare('SELECT custom_id, started_at, finished_at FROM items ORDER BY idx').all() as Array<{ custom_id: string; started_at: number; finished_at: number | null }>;
    expect(rows[0]!.started_at).toBeLessThanOrEqual(rows[0]!.finished_at!);
    expect(rows[0]!.started_at).toBeGreaterThanOrEqual(taken);
    expect(rows[1]!.started_at).toBeLessThan(taken + 30);
    store.close();
  });

  it('reports a writer thread that cannot start (no such job there) as STORE_WRITE_FAILED, once, through onError', async () => {
    const errors: unknown[] = [];
    const writer = new ThreadedResultWriter({ path: path.join(dir, 'empty.sqlite'), jobId: 1, onError: (e) => errors.push(e) }, ThreadedResultWriter.workerScript()!);
    writer.record({ customId: 'x', status: 'done', attempts: 1, finishedAt: 0 });
    await expect(writer.close()).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED' });
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).message)).toMatch(/cannot write to job database/);
    // The thread's own error crossed as data: its code survives, not just its words.
    expect((errors[0] as Error).cause).toMatchObject({ code: 'JOB_NOT_FOUND', message: expect.stringContaining('no job with id 1') });
  });

  it('carries a failed commit on the thread (disk full, read-only) back as STORE_WRITE_FAILED, by code', async () => {
    const store = CheckpointStore.open({ path: path.join(dir, 'job.sqlite') });
    const job = store.openJob({ name: 'full-disk', config: {}, inputFingerprint: 'f' });
    await store.ingest(job.id, records(2));
    // Every write to items fails inside the thread's transaction, as a full disk would.
    connectionOf(store).exec(`CREATE TRIGGER disk_full BEFORE UPDATE ON items BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    const errors: unknown[] = [];
    const writer = new ThreadedResultWriter({ path: store.path, jobId: job.id, onError: (e) => errors.push(e) }, ThreadedResultWriter.workerScript()!);
    writer.record({ customId: 'c0', status: 'done', attempts: 1, finishedAt: 0 });
    await expect(writer.flush()).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED' });
    await expect(writer.close()).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED' });
    expect(errors).toHaveLength(1);
    const error = errors[0] as Error & { cause: unknown };
    // ResultWriter's own message on the thread, and its code kept; the command to continue is the
    // caller's to add (it knows the job's database and where a resume looks).
    expect(error.message).toContain(`cannot write to job database ${store.path}: database or disk is full`);
    expect(error.message).toContain('results already recorded are safe: free space');
    expect(error.cause).toMatchObject({ code: 'STORE_WRITE_FAILED' });
    expect(store.countByStatus(job.id)).toMatchObject({ pending: 2, done: 0 });
    store.close();
  });
});
