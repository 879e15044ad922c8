import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProgressReporter } from '../../src/reporting/progress-reporter.js';

describe('ProgressReporter while every server is down', () => {
  it('the status line says since when the run is paused, with no ETA, until a server answers', async () => {
    const stream = new PassThrough();
    let now = 0;
    const reporter = new ProgressReporter({ stream, isTTY: false, quiet: true, total: 10, now: () => now });
    await reporter.start();
    reporter.onOutcome({ customId: 'a', status: 'done', attempts: 1, completionTokens: 10, finishedAt: 0 });
    now = 1000;
    const since = new Date(2026, 10, 29, 3, 4, 5).getTime();
    reporter.onAllDown(since);
    expect(reporter.statusLine()).toBe('batch: paused: every server down since 03:04:05 | 1/10 (10%) 1.0 req/s 10 tok/s failed 0 in flight 0 retries 0 ETA ?');
    reporter.onRecovered(60_000);
    expect(reporter.statusLine()).toBe('batch: 1/10 (10%) 1.0 req/s 10 tok/s failed 0 in flight 0 retries 0 ETA 9.0s');
    // Every server loading its model is a pause too, and says so.
    reporter.onAllDown(since, true);
    expect(reporter.statusLine()).toBe('batch: paused: loading the model since 03:04:05 | 1/10 (10%) 1.0 req/s 10 tok/s failed 0 in flight 0 retries 0 ETA ?');
    reporter.stop();
  });
});
