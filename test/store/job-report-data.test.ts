import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { connectionOf } from '../../src/store/connection-of.js';
import { readJobInsights } from '../../src/reporting/job-insights.js';
import { readJobReport } from '../../src/reporting/job-report.js';
import { readBenches } from '../../src/store/benches.js';
import { readSamples, recordSample, type SampleRecord } from '../../src/store/samples.js';
import type { JobRecord } from '../../src/store/store-records.js';
import { chat, done, feed } from './fixtures.js';

let store: CheckpointStore;
let job: JobRecord;
beforeEach(() => {
  store = CheckpointStore.open({ path: ':memory:' });
  job = store.openJob({ name: 'j', config: { version: 1, inputs: [], settings: { servers: ['http://a', 'http://b'], workers: 4 } }, inputFingerprint: 'f' });
});
afterEach(() => store.close());

const t0 = 1_700_000_000_000;

function sample(i: number, extra: Partial<SampleRecord> = {}): SampleRecord {
  return {
    jobId: job.id,
    runId: null,
    at: t0 + i * 5000,
    intervalMs: 5000,
    done: i * 100,
    failed: 0,
    queued: 1000 - i * 100,
    inFlight: 2,
    inFlightByServer: { 'http://a': 1, 'http://b': 1 },
    requestsPerS: 20,
    tokensPerS: 300,
    rssBytes: 100 * 2 ** 20 + i * 100 * 1024,
    heapBytes: 40 * 2 ** 20,
    gpus: [{ index: 0, name: 'RTX', utilizationPct: 30, memoryUsedBytes: 1, memoryTotalBytes: 2 }],
    ...extra,
  };
}

describe('job report data', () => {
  it('splits a job per model and per server, counts loads and cache hits, failures, retries and where the time went', async () => {
    await store.ingest(job.id, feed(Array.from({ length: 6 }, (_, i) => chat(`p${i}`, i))));
    const writer = store.createResultWriter(job.id);
    const timings = { timings: { prompt_ms: 10, predicted_ms: 30 } };
    writer.record(done('p0', { endpointUrl: 'http://a', model: 'm1', latencyMs: 100, modelLoadMs: 2000, completionTokens: 10, finishedAt: t0 + 1000, response: { statusCode: 200, requestId: 'r', body: timings } }));
    writer.record(done('p1', { endpointUrl: 'http://a', model: 'm1', latencyMs: 200, modelLoadMs: 1, completionTokens: 10, finishedAt: t0 + 2000 }));
    writer.record(done('p2', { endpointUrl: 'http://b', model: 'm2', latencyMs: 300, modelLoadMs: 1500, completionTokens: 20, finishedAt: t0 + 3000 }));
    writer.record(done('p3', { endpointUrl: 'http://b', model: 'm1', latencyMs: 400, modelLoadMs: 3, completionTokens: 10, finishedAt: t0 + 4000 }));
    writer.record({ customId: 'p4', status: 'failed', attempts: 3, endpointUrl: 'http://b', model: 'm2', error: { code: 'SERVER_ERROR', message: 'b answered <500>' }, finishedAt: t0 + 5000 });
    await writer.close();
    connectionOf(store).prepare(`UPDATE items SET retry_causes = ? WHERE custom_id = 'p4'`).run(JSON.stringify({ SERVER_ERROR: 2 }));
    connectionOf(store).prepare(`UPDATE items SET retry_causes = ? WHERE custom_id = 'p1'`).run(JSON.stringify({ RATE_LIMITED: 1, SERVER_ERROR: 1 }));

    const report = readJobReport(store, job);
    expect(report.perModel.map((g) => [g.key, g.requests, g.failed])).toEqual([['m1', 3, 0], ['m2', 2, 1]]);
    expect(report.perServer.map((g) => [g.key, g.requests])).toEqual([['http://b', 3], ['http://a', 2]]);
    const m1 = report.perModel[0]!;
    expect(m1.latencyMs).toEqual({ p50: 200, p95: 400, p99: 400 });
    expect(m1.completionTokens).toBe(30);
    // Two answers reported a real load (2000 ms, 1500 ms) of four that reported one; a failure reports none.
    expect(report.loads).toMatchObject({ loads: 2, prompts: 5, loadReported: 4, warmStarts: 2, warmStartRate: 0.5, cacheHitRatio: 0.6 });
    expect(report.failuresByCode).toEqual([{ code: 'SERVER_ERROR', count: 1 }]);
    expect(report.failures).toEqual([{ code: 'SERVER_ERROR', message: 'b answered <500>', count: 1 }]);
    expect(report.retryCauses).toEqual([{ code: 'SERVER_ERROR', count: 3 }, { code: 'RATE_LIMITED', count: 1 }]);
    expect(report.timeSplit).toMatchObject({ prompts: 4, queueMs: null, loadMs: (2000 + 1 + 1500 + 3) / 4, promptMs: 10, generationMs: 30, latencyMs: 250 });
    expect(report.latencyHistogram?.total).toBe(4);
    expect(report.ttftHistogram).toBeNull();
    expect(report.series.source).toBe('items');
    expect(report.series.points.at(-1)).toMatchObject({ inFlight: 0, queued: 1 });
    expect(report.series.points.reduce((a, p) => a + p.requestsPerS, 0)).toBeGreaterThan(0);
    expect(report.memory).toBeNull();
    expect(report.gpu).toBeNull();
  });

  it('counts each managed server a model ran on as one load when the job has no --server', async () => {
    const managed = store.openJob({ name: 'managed', config: { version: 1, inputs: [], settings: {} }, inputFingerprint: 'g' });
    await store.ingest(managed.id, feed(Array.from({ length: 4 }, (_, i) => chat(`q${i}`, i))));
    const writer = store.createResultWriter(managed.id);
    ['http://127.0.0.1:1', 'http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3'].forEach((url, i) => writer.record(done(`q${i}`, { endpointUrl: url, model: 'm' })));
    await writer.close();
    expect(readJobInsights(store, managed).loads).toMatchObject({ loads: 3, prompts: 4, cacheHitRatio: 0.25, warmStartRate: null });
  });

  it('reads samples back as written, and none from a database without the table', () => {
    recordSample(connectionOf(store), sample(0));
    recordSample(connectionOf(store), sample(1, { gpus: [], rssBytes: null }));
    const samples = readSamples(connectionOf(store), job.id);
    expect(samples).toEqual([sample(0), sample(1, { gpus: [], rssBytes: null })]);
    store.recordBench(job.id, t0, { target: 'm.gguf', kind: 'model', coldLoadsMs: [1], firstRequestMs: 2, sequential: phase(1), pool: phase(4), speedUp: 4 });
    expect(readBenches(connectionOf(store), job.id)).toEqual([expect.objectContaining({ target: 'm.gguf', speedUp: 4, at: t0 })]);
    connectionOf(store).exec('DROP TABLE samples; DROP TABLE benches');
    expect(readSamples(connectionOf(store), job.id)).toEqual([]);
    expect(readBenches(connectionOf(store), job.id)).toEqual([]);
  });
});

function phase(concurrency: number) {
  return { requests: 4, concurrency, wallMs: 100, requestsPerS: 40, completionTokens: 8, tokensPerS: 80, latencyMs: { p50: 1, p95: 2, p99: 3 } };
}
