import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProgressReporter } from '../../src/reporting/progress-reporter.js';
import { LatencyHistogram } from '../../src/reporting/latency-histogram.js';
import { formatRunSummary } from '../../src/reporting/run-summary.js';

const item = { customId: 'x', index: 0, source: 's', endpoint: '/v1/chat/completions' as const, body: {} };

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

afterEach(() => vi.useRealTimers());

describe('ProgressReporter', () => {
  it('writes one status line per interval when stderr is not a terminal', async () => {
    vi.useFakeTimers();
    let now = 0;
    const out = capture();
    const reporter = new ProgressReporter({ stream: out.stream, isTTY: false, total: 10, intervalMs: 10_000, now: () => now });
    await reporter.start();
    for (let i = 0; i < 4; i++) reporter.onRequestStart(item);
    reporter.onRequestEnd(item);
    reporter.onOutcome({ customId: 'a', status: 'done', attempts: 1, completionTokens: 20, finishedAt: 0 });
    reporter.onRequestEnd(item);
    reporter.onOutcome({ customId: 'b', status: 'failed', attempts: 1, finishedAt: 0 });
    now = 2000;
    vi.advanceTimersByTime(9_999);
    expect(out.text()).toBe('');
    vi.advanceTimersByTime(1);
    expect(out.text()).toBe('batch: 2/10 (20%) 1.0 req/s 10 tok/s failed 1 in flight 2 retries 0 ETA 8.0s\n');
    reporter.stop();
    vi.advanceTimersByTime(60_000);
    expect(out.text().split('\n')).toHaveLength(2);
  });

  it('shows "reading" and the total so far while the inputs are read, with no ETA, then the final total', async () => {
    let now = 0;
    const out = capture();
    const reporter = new ProgressReporter({ stream: out.stream, isTTY: false, total: 3, reading: true, now: () => now });
    await reporter.start();
    reporter.onOutcome({ customId: 'a', status: 'done', attempts: 1, finishedAt: 0 });
    now = 1000;
    expect(reporter.statusLine()).toBe('batch: 1/3+ (reading) 1.0 req/s 0 tok/s failed 0 in flight 0 retries 0 ETA ?');
    reporter.setTotal(7, true);
    expect(reporter.statusLine()).toMatch(/^batch: 1\/7\+ \(reading\) /);
    reporter.setTotal(10, false);
    expect(reporter.statusLine()).toBe('batch: 1/10 (10%) 1.0 req/s 0 tok/s failed 0 in flight 0 retries 0 ETA 9.0s');
    reporter.stop();
  });

  it('counts in flight only the requests on the wire: not a prompt waiting out its retry delay', async () => {
    const out = capture();
    const reporter = new ProgressReporter({ stream: out.stream, isTTY: false, total: 2, now: () => 0 });
    // Two requests go out; one fails and waits to be retried (no outcome yet), the other answers.
    reporter.onRequestStart(item);
    reporter.onRequestStart(item);
    reporter.onRequestEnd(item);
    reporter.onRequestEnd(item);
    reporter.onOutcome({ customId: 'a', status: 'done', attempts: 1, finishedAt: 0 });
    expect(reporter.statusLine()).toContain('in flight 0 ');
    reporter.onRequestStart(item);
    expect(reporter.statusLine()).toContain('in flight 1 ');
    reporter.stop();
  });

  it('prints nothing with quiet', async () => {
    vi.useFakeTimers();
    const out = capture();
    const reporter = new ProgressReporter({ stream: out.stream, isTTY: false, quiet: true, total: 1, intervalMs: 10 });
    await reporter.start();
    vi.advanceTimersByTime(100);
    reporter.stop();
    expect(out.text()).toBe('');
  });
});

describe('LatencyHistogram', () => {
  it('reports percentiles within its 2% bucket width', () => {
    const histogram = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) histogram.record(ms);
    expect(histogram.percentile(50)! / 500).toBeCloseTo(1, 1);
    expect(histogram.percentile(99)! / 990).toBeCloseTo(1, 1);
    expect(histogram.percentile(100)).toBe(1000);
    expect(new LatencyHistogram().percentile(50)).toBeUndefined();
  });
});

describe('formatRunSummary', () => {
  it('names the resume command when interrupted', () => {
    const text = formatRunSummary({
      job: 'j', database: 'd', output: 'o', exitCode: 130, total: 3, done: 1, failed: 0, pending: 2, alreadyDone: 0, changed: 0, invalid: 0,
      deduplicated: 0, cached: 0, sent: 1, succeeded: 1, failedThisRun: 0, retries: 0, wallMs: 1500, requestsPerSecond: 0.67,
      completionTokens: 5, completionTokensPerSecond: 3.3, latencyMs: { p50: 100 }, modelLoads: [{ model: 'm', loads: 1, loadMs: 2000 }],
      interrupted: true, resumeCommand: 'batch resume j',
    });
    expect(text).toContain('job j: 1/3 done, 0 failed, 2 pending');
    expect(text).toContain('model loads: m ×1 (2.0s)');
    expect(text).toContain('interrupted: nothing is lost; continue with: batch resume j');
  });
});
