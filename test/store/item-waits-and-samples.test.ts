import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { connectionOf } from '../../src/store/connection-of.js';
import type { RunSample } from '../../src/store/run-sample.js';
import { ThreadedResultWriter } from '../../src/store/threaded-result-writer.js';
import { chat, done, feed } from './fixtures.js';
import { repoRoot } from '../helpers/sim-process.js';

let store: CheckpointStore;
let jobId: number;
const rowOf = (id: string): { queue_wait_ms: number | null; retry_causes: string | null; attempts: number } =>
  connectionOf(store).prepare('SELECT queue_wait_ms, retry_causes, attempts FROM items WHERE custom_id = ?').get(id) as never;

beforeEach(async () => {
  store = CheckpointStore.open({ path: ':memory:' });
  jobId = store.openJob({ name: 'w', config: {}, inputFingerprint: 'f' }).id;
  await store.ingest(jobId, feed([chat('a', 0, { temperature: 0 }), chat('b', 1), chat('a2', 2, { temperature: 0, messages: [{ role: 'user', content: 'a' }] })]));
});
afterEach(() => store.close());

describe('queue wait and retry causes in items', () => {
  it('are stored with the outcome; a duplicate, which sent nothing, gets neither', async () => {
    const writer = store.createResultWriter(jobId);
    writer.record(done('a', { attempts: 3, queueWaitMs: 12.5, retryCauses: { SERVER_ERROR: 1, RATE_LIMITED: 1 } }));
    writer.record(done('b', { queueWaitMs: 0.25 }));
    await writer.close();
    expect(rowOf('a')).toEqual({ queue_wait_ms: 12.5, retry_causes: '{"SERVER_ERROR":1,"RATE_LIMITED":1}', attempts: 3 });
    expect(rowOf('b')).toEqual({ queue_wait_ms: 0.25, retry_causes: null, attempts: 1 });
    expect(rowOf('a2')).toEqual({ queue_wait_ms: null, retry_causes: null, attempts: 0 });
  });

  it('add up across runs, code by code, as attempts do (resume --retry-failed)', async () => {
    const first = store.createResultWriter(jobId);
    first.record({ ...done('b', { attempts: 3, retryCauses: { SERVER_ERROR: 2 } }), status: 'failed', error: { code: 'SERVER_ERROR', message: '500' } });
    await first.close();
    store.resetFailed(jobId);
    const second = store.createResultWriter(jobId);
    second.record(done('b', { attempts: 3, retryCauses: { SERVER_ERROR: 1, CONNECTION_RESET: 1 } }));
    await second.close();
    expect(rowOf('b').attempts).toBe(6);
    expect(JSON.parse(rowOf('b').retry_causes!)).toEqual({ CONNECTION_RESET: 1, SERVER_ERROR: 3 });
    // A run that needed no retry keeps the causes already recorded.
    store.resetFailed(jobId);
    connectionOf(store).prepare(`UPDATE items SET status = 'pending' WHERE custom_id = 'b'`).run();
    const third = store.createResultWriter(jobId);
    third.record(done('b'));
    await third.close();
    expect(JSON.parse(rowOf('b').retry_causes!)).toEqual({ CONNECTION_RESET: 1, SERVER_ERROR: 3 });
  });

  it('are cleared with the rest of the result when the prompt changes', async () => {
    const writer = store.createResultWriter(jobId);
    writer.record(done('b', { attempts: 2, queueWaitMs: 5, retryCauses: { SERVER_ERROR: 1 } }));
    await writer.close();
    await store.ingest(jobId, feed([chat('a', 0, { temperature: 0 }), chat('b', 1, { messages: [{ role: 'user', content: 'changed' }] }), chat('a2', 2, { temperature: 0, messages: [{ role: 'user', content: 'a' }] })]));
    expect(rowOf('b')).toEqual({ queue_wait_ms: null, retry_causes: null, attempts: 0 });
  });

  it('cross the writer thread unchanged', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-item-waits-'));
    try {
      const file = CheckpointStore.open({ path: path.join(dir, 'job.sqlite') });
      const id = file.openJob({ name: 'w', config: {}, inputFingerprint: 'f' }).id;
      await file.ingest(id, feed([chat('x', 0)]));
      const script = ThreadedResultWriter.workerScript() ?? path.join(repoRoot, 'dist/store/result-writer-worker.js');
      const writer = new ThreadedResultWriter({ path: file.path, jobId: id }, script);
      writer.record(done('x', { attempts: 2, queueWaitMs: 7, retryCauses: { REQUEST_TIMEOUT: 1 } }));
      await writer.close();
      expect(connectionOf(file).prepare(`SELECT queue_wait_ms, retry_causes FROM items WHERE custom_id = 'x'`).get()).toEqual({ queue_wait_ms: 7, retry_causes: '{"REQUEST_TIMEOUT":1}' });
      file.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CheckpointStore.insertSample', () => {
  const sample = (extra: Partial<RunSample> = {}): RunSample => ({
    jobId,
    runId: store.startRun(jobId, { pid: 1, host: 'h', argv: [] }),
    at: 1_700_000_000_000,
    intervalMs: 5000.4,
    done: 10,
    failed: 1,
    queued: 89,
    inFlight: 4,
    inFlightByServer: { 'http://127.0.0.1:8080': 3, 'http://127.0.0.1:8081': 1 },
    requestsPerS: 2.2,
    tokensPerS: 35.5,
    rssBytes: 100_000_000,
    heapBytes: 20_000_000,
    gpus: [{ index: 0, name: 'NVIDIA H200', utilizationPct: 97, memoryUsedBytes: 2 ** 30, memoryTotalBytes: 2 ** 37 }],
    ...extra,
  });

  it('writes one row of samples, JSON columns as JSON', () => {
    const written = sample();
    store.insertSample(written);
    store.insertSample(sample({ at: 1_700_000_005_000, gpus: null, requestsPerS: null, tokensPerS: null }));
    const rows = connectionOf(store).prepare('SELECT * FROM samples WHERE job_id = ? ORDER BY at').all(jobId) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ run_id: written.runId, at: 1_700_000_000_000, interval_ms: 5000, done: 10, failed: 1, queued: 89, in_flight: 4, requests_per_s: 2.2, tokens_per_s: 35.5, rss_bytes: 100_000_000, heap_bytes: 20_000_000 });
    expect(JSON.parse(rows[0]!.in_flight_by_server as string)).toEqual(written.inFlightByServer);
    expect(JSON.parse(rows[0]!.gpus as string)).toEqual(written.gpus);
    expect(rows[1]).toMatchObject({ gpus: null, requests_per_s: null, tokens_per_s: null });
  });

  it('is refused on a read-only store', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-samples-ro-'));
    try {
      const file = path.join(dir, 'job.sqlite');
      const writable = CheckpointStore.open({ path: file });
      const id = writable.openJob({ name: 'j', config: {}, inputFingerprint: 'f' }).id;
      const runId = writable.startRun(id, { pid: 1, host: 'h', argv: [] });
      writable.close();
      const readonly = CheckpointStore.open({ path: file, readonly: true });
      try {
        expect(() => readonly.insertSample({ ...sample(), jobId: id, runId })).toThrow(/opened read-only/);
      } finally {
        readonly.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
