import { describe, expect, it } from 'vitest';
import { buildWatchView, formatWatchLine, formatWatchView, watchPointOf } from '../../src/reporting/watch-view.js';
import type { WatchFacts } from '../../src/store/watch-facts.js';

const t0 = Date.UTC(2026, 11, 6, 3, 0, 0);

const facts = (over: Partial<WatchFacts> = {}): WatchFacts => ({
  job: 'night',
  state: 'running',
  counts: { pending: 50, running: 10, done: 35, failed: 5, total: 100 },
  recentFailures: [{ code: 'REQUEST_REJECTED', message: 'HTTP 400:   bad\nrequest', at: t0 - 1000 }],
  servers: [
    { url: 'http://a:8000', done: 30, failed: 5, lastAt: t0 - 1500 },
    { url: 'http://b:8000', done: 5, failed: 0, lastAt: t0 - 125_000 },
  ],
  latestSample: {
    jobId: 1, runId: 1, at: t0 - 2000, intervalMs: 5000, done: 40, failed: 5, queued: 50, inFlight: 10,
    inFlightByServer: { 'http://a:8000': 8, 'http://c:8000': 2 }, requestsPerS: 4, tokensPerS: 100, rssBytes: null, heapBytes: null, gpus: [],
  },
  ...over,
});

describe('the live view of batch status --watch', () => {
  it('takes the first rate from the newest sample, and later ones from the counts between refreshes', () => {
    const first = buildWatchView(facts(), undefined, t0);
    expect(first.ratePerS).toBe(4);
    // 60 left at 4/s.
    expect(first.etaMs).toBe(15_000);
    const later = buildWatchView(facts({ counts: { pending: 40, running: 10, done: 45, failed: 5, total: 100 } }), watchPointOf(first), t0 + 2000);
    expect(later.ratePerS).toBe(5);
    expect(later.etaMs).toBe(10_000);
  });

  it('lists every server of the items and of the sample, with its in flight, counts and last answer', () => {
    const view = buildWatchView(facts(), undefined, t0);
    expect(view.servers).toEqual([
      { url: 'http://a:8000', inFlight: 8, done: 30, failed: 5, lastAnswerAgoMs: 1500 },
      { url: 'http://b:8000', inFlight: 0, done: 5, failed: 0, lastAnswerAgoMs: 125_000 },
      { url: 'http://c:8000', inFlight: 2, done: 0, failed: 0, lastAnswerAgoMs: null },
    ]);
    expect(formatWatchView(view)).toEqual([
      'job       night (running)  at 03:00:00 UTC',
      'prompts   40/100 finished (40%): 35 done, 5 failed, 60 pending',
      'rate      4.0/s  eta 15.0s  in flight 10',
      'servers',
      '  http://a:8000  in flight 8  30 done, 5 failed  last answer 1.5s ago',
      '  http://b:8000  in flight 0  5 done, 0 failed  last answer 2m 05s ago',
      '  http://c:8000  in flight 2  0 done, 0 failed  no answer yet',
      'last failures',
      '  REQUEST_REJECTED  HTTP 400: bad request',
    ]);
  });

  it('prints one line per refresh for a log', () => {
    expect(formatWatchLine(buildWatchView(facts(), undefined, t0))).toBe('03:00:00 night running: 40/100 (40%) 35 done, 5 failed, 60 pending  rate 4.0/s  eta 15.0s  in flight 10');
  });

  it('shows no rate, ETA or in flight for a job that no longer runs', () => {
    const view = buildWatchView(facts({ state: 'interrupted', counts: { pending: 60, running: 0, done: 35, failed: 5, total: 100 } }), { at: t0 - 2000, finished: 30 }, t0);
    expect(view).toMatchObject({ ratePerS: null, etaMs: null, inFlight: null });
    expect(view.servers.map((s) => s.inFlight)).toEqual([0, 0]);
    expect(formatWatchLine(view)).toContain('night interrupted: 40/100 (40%)');
    expect(formatWatchLine(view)).toContain('rate –  eta –');
  });

  it('has no ETA when nothing finished since the last refresh, and cuts long failure messages', () => {
    const stalled = buildWatchView(facts({ recentFailures: [{ code: 'X', message: 'y'.repeat(300), at: t0 }] }), { at: t0 - 2000, finished: 40 }, t0);
    expect(stalled.ratePerS).toBe(0);
    expect(stalled.etaMs).toBeNull();
    const last = formatWatchView(stalled).at(-1)!;
    expect(last).toHaveLength('  X  '.length + 100);
    expect(last.endsWith('…')).toBe(true);
  });
});
