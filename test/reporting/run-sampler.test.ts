import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GpuUsage } from '../../src/hardware/query-gpu-usage.js';
import { RunSampler } from '../../src/reporting/run-sampler.js';
import type { RunSample } from '../../src/store/run-sample.js';
import { repoRoot } from '../helpers/sim-process.js';

const item = { customId: 'x', index: 0, source: 's', endpoint: '/v1/chat/completions' as const, body: {} };
const gpu: GpuUsage = { index: 0, name: 'NVIDIA H200', utilizationPct: 90, memoryUsedBytes: 1024, memoryTotalBytes: 4096 };

afterEach(() => vi.useRealTimers());

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

describe('RunSampler', () => {
  it('samples at start, every interval and at stop: counts, queue, per-server in flight, rates over the interval', async () => {
    vi.useFakeTimers();
    let now = 1_000_000;
    const samples: RunSample[] = [];
    const sampler = new RunSampler({ jobId: 7, runId: 3, pending: 10, intervalMs: 5000, now: () => now, onSample: (s) => samples.push(s), gpu: { read: async () => [gpu] } });
    await sampler.start();
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({ jobId: 7, runId: 3, at: 1_000_000, intervalMs: 0, done: 0, failed: 0, queued: 10, inFlight: 0, inFlightByServer: {}, requestsPerS: null, tokensPerS: null, gpus: [gpu] });
    expect(samples[0]!.rssBytes).toBeGreaterThan(0);
    expect(samples[0]!.heapBytes).toBeGreaterThan(0);

    // Three requests go out to two servers (one URL with credentials); one ends answered, one fails.
    sampler.onRequestStart(item, 'http://a:8080');
    sampler.onRequestStart(item, 'http://a:8080');
    sampler.onRequestStart(item, 'http://user:secret@b:8080');
    sampler.onRequestEnd(item, 'http://a:8080');
    sampler.onOutcome({ customId: 'p1', status: 'done', attempts: 1, completionTokens: 30, finishedAt: now });
    sampler.onRequestEnd(item, 'http://user:secret@b:8080');
    sampler.onOutcome({ customId: 'p2', status: 'failed', attempts: 1, finishedAt: now });
    now += 5000;
    await vi.advanceTimersByTimeAsync(5000);
    expect(samples).toHaveLength(2);
    expect(samples[1]).toMatchObject({ at: 1_005_000, intervalMs: 5000, done: 1, failed: 1, queued: 7, inFlight: 1, inFlightByServer: { 'http://a:8080': 1 }, requestsPerS: 0.4, tokensPerS: 6 });

    sampler.onRequestStart(item, 'http://user:secret@b:8080');
    now += 2000;
    await sampler.stop();
    expect(samples).toHaveLength(3);
    expect(samples[2]).toMatchObject({ intervalMs: 2000, inFlight: 2, inFlightByServer: { 'http://a:8080': 1, 'http://[redacted]@b:8080': 1 }, requestsPerS: 0, tokensPerS: 0 });
    expect(JSON.stringify(samples)).not.toContain('secret');

    // Nothing after the stop.
    now += 60_000;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(samples).toHaveLength(3);
  });

  it('delivers samples in order and skips the GPUs of a tick while nvidia-smi is still busy', async () => {
    vi.useFakeTimers();
    let now = 0;
    const samples: RunSample[] = [];
    const reads: Array<(gpus: GpuUsage[] | undefined) => void> = [];
    const sampler = new RunSampler({ jobId: 1, runId: 1, pending: 1, intervalMs: 100, now: () => now, onSample: (s) => samples.push(s), gpu: { read: () => new Promise((resolve) => reads.push(resolve)) } });
    void sampler.start();
    now = 100;
    await vi.advanceTimersByTimeAsync(100);
    // The first query has not answered: the tick does not start another.
    expect(reads).toHaveLength(1);
    expect(samples).toHaveLength(0);
    reads[0]!([gpu]);
    await vi.advanceTimersByTimeAsync(0);
    expect(samples.map((s) => s.gpus)).toEqual([[gpu], null]);
    const stopped = sampler.stop();
    expect(reads).toHaveLength(2);
    reads[1]!(undefined);
    await stopped;
    expect(samples.map((s) => s.at)).toEqual([0, 100, 100]);
    expect(samples[2]!.gpus).toBeNull();
  });

  it('a receiver that throws does not stop the sampling', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const sampler = new RunSampler({ jobId: 1, runId: 1, pending: 0, intervalMs: 10, onSample: () => {
      calls += 1;
      throw new Error('disk full');
    } });
    await sampler.start();
    await vi.advanceTimersByTimeAsync(30);
    await sampler.stop();
    expect(calls).toBe(5);
  });

  it('holds no timer that keeps the process alive, and samples nothing after stop()', async () => {
    const before = timeouts();
    const samples: RunSample[] = [];
    const sampler = new RunSampler({ jobId: 1, runId: 1, pending: 0, intervalMs: 5, onSample: (s) => samples.push(s) });
    await sampler.start();
    // Node lists only the timers that keep the loop alive: an unref'd one is not among them.
    expect(timeouts()).toBe(before);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await sampler.stop();
    const count = samples.length;
    expect(count).toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(samples).toHaveLength(count);
  });

  it('a sampler never stopped does not keep its process alive (the timer is unref\'d)', () => {
    const module = pathToFileURL(path.join(repoRoot, 'dist/reporting/run-sampler.js')).href;
    // The child starts a sampler, never stops it, and must end on its own: no timeout fires here.
    const script = `const { RunSampler } = await import(${JSON.stringify(module)});
      let samples = 0;
      new RunSampler({ jobId: 1, runId: 1, pending: 5, intervalMs: 50, onSample: () => { samples += 1; } }).start();
      process.on('exit', () => console.log('exited after ' + samples + ' sample(s)'));`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(output).toBe('exited after 1 sample(s)\n');
  });
});
