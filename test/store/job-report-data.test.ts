import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { readJobInsights, readJobReport } from '../../src/store/job-report-data.js';
import { recordBench, readBenches } from '../../src/store/benches.js';
import { gpuInsight, memoryInsight, underuseWarning } from '../../src/store/sample-insights.js';
import { readSamples, recordSample, type SampleRecord } from '../../src/store/samples.js';
import type { GroupStats } from '../../src/store/group-stats.js';
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
    store.database.prepare(`UPDATE items SET retry_causes = ? WHERE custom_id = 'p4'`).run(JSON.stringify({ SERVER_ERROR: 2 }));
    store.database.prepare(`UPDATE items SET retry_causes = ? WHERE custom_id = 'p1'`).run(JSON.stringify({ RATE_LIMITED: 1, SERVER_ERROR: 1 }));

    const report = readJobReport(store.database, job);
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
    expect(readJobInsights(store.database, managed).loads).toMatchObject({ loads: 3, prompts: 4, cacheHitRatio: 0.25, warmStartRate: null });
  });

  it('reads samples back as written, and none from a database without the table', () => {
    recordSample(store.database, sample(0));
    recordSample(store.database, sample(1, { gpus: [], rssBytes: null }));
    const samples = readSamples(store.database, job.id);
    expect(samples).toEqual([sample(0), sample(1, { gpus: [], rssBytes: null })]);
    recordBench(store.database, job.id, t0, { target: 'm.gguf', kind: 'model', coldLoadsMs: [1], firstRequestMs: 2, sequential: phase(1), pool: phase(4), speedUp: 4 });
    expect(readBenches(store.database, job.id)).toEqual([expect.objectContaining({ target: 'm.gguf', speedUp: 4, at: t0 })]);
    store.database.exec('DROP TABLE samples; DROP TABLE benches');
    expect(readSamples(store.database, job.id)).toEqual([]);
    expect(readBenches(store.database, job.id)).toEqual([]);
  });

  it('takes memory growth per 1,000 prompts as the slope of RSS against prompts finished', () => {
    const memory = memoryInsight(Array.from({ length: 10 }, (_, i) => sample(i)));
    expect(memory).toMatchObject({ startBytes: 100 * 2 ** 20, endBytes: 100 * 2 ** 20 + 9 * 100 * 1024, samples: 10 });
    // 100 KiB more every 100 prompts: 1,000 KiB per 1,000.
    expect(memory!.growthPer1000PromptsBytes).toBeCloseTo(1000 * 1024, 0);
    expect(memoryInsight([sample(0), sample(0)])!.growthPer1000PromptsBytes).toBeNull();
    expect(memoryInsight([])).toBeNull();
  });

  it('warns of an idle GPU while prompts wait, naming model switches, a slow server or too few workers from the data', () => {
    const idle = Array.from({ length: 8 }, (_, i) => sample(i));
    const gpu = gpuInsight(idle);
    expect(gpu).toMatchObject({ meanUtilizationPct: 30, samples: 8, names: ['RTX'], waitingSamples: 8, idleWhileWaitingSamples: 8 });
    const server = (key: string, p50: number): GroupStats => ({ key, requests: 1, failed: 0, completionTokens: 0, spanMs: 1, requestsPerS: 1, tokensPerS: 1, latencyMs: { p50, p95: p50, p99: p50 }, ttftMs: null, loadReported: 0, warmStarts: 0 });
    expect(underuseWarning(idle, gpu, { perServer: [server('http://a', 100)], loads: 9, models: 2 })).toMatch(/8 of 8 samples .*likely model switches \(9 model loads for 2 model\(s\)\)/);
    expect(underuseWarning(idle, gpu, { perServer: [server('http://a', 100), server('http://slow', 450)], loads: 1, models: 1 })).toMatch(/likely a slow server \(http:\/\/slow: p50 450 ms against 100 ms at http:\/\/a\)/);
    expect(underuseWarning(idle, gpu, { perServer: [server('http://a', 100)], loads: 1, models: 1, workers: 2, slotsPerServer: 8 })).toMatch(/likely too few workers for the slots: 2\.0 request\(s\) in flight on average for 8 slot\(s\) \(--workers 2\)/);
    const busy = Array.from({ length: 8 }, (_, i) => sample(i, { gpus: [{ index: 0, name: 'RTX', utilizationPct: 90, memoryUsedBytes: null, memoryTotalBytes: null }] }));
    expect(underuseWarning(busy, gpuInsight(busy), { perServer: [], loads: 9, models: 1 })).toBeUndefined();
    // Idle only once prompts stopped waiting: no warning either.
    const drained = Array.from({ length: 8 }, (_, i) => sample(i, { queued: 0 }));
    expect(underuseWarning(drained, gpuInsight(drained), { perServer: [], loads: 9, models: 1 })).toBeUndefined();
    expect(gpuInsight([sample(0, { gpus: [] })])).toBeNull();
  });
});

function phase(concurrency: number) {
  return { requests: 4, concurrency, wallMs: 100, requestsPerS: 40, completionTokens: 8, tokensPerS: 80, latencyMs: { p50: 1, p95: 2, p99: 3 } };
}
