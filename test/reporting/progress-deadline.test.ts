import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProgressReporter } from '../../src/reporting/progress-reporter.js';
import { formatRunSummary } from '../../src/reporting/run-summary.js';
import { summarizeDeadline } from '../../src/reporting/deadline-summary.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

const done = (customId: string) => ({ customId, status: 'done' as const, attempts: 1, finishedAt: 0 });
/** 06:00 local on 6 Dec 2026, an hour before a 07:00 deadline. */
const start = new Date(2026, 11, 6, 6, 0).getTime();
const deadlineAt = new Date(2026, 11, 6, 7, 0).getTime();

afterEach(() => vi.useRealTimers());

describe('the progress line with a deadline', () => {
  it('shows the deadline and the time left to it', async () => {
    vi.useFakeTimers();
    let now = start;
    const out = capture();
    const reporter = new ProgressReporter({ stream: out.stream, isTTY: false, total: 10, intervalMs: 10_000, now: () => now, deadlineAt });
    await reporter.start();
    now = start + 30 * 60_000;
    vi.advanceTimersByTime(10_000);
    expect(out.text()).toMatch(/ETA \? \| until 07:00 \(30m 00s left\)\n$/);
    reporter.stop();
  });

  it('warns once when the ETA passes the deadline: how many prompts fit before it', async () => {
    let now = start;
    const out = capture();
    const reporter = new ProgressReporter({ stream: out.stream, isTTY: false, total: 2000, now: () => now, deadlineAt });
    await reporter.start();
    // 10 prompts in 45 s: 800 fit in the hour; the other 1,200 would need 1.5 hours more.
    for (let i = 0; i < 9; i++) reporter.onOutcome(done(`p${i}`));
    now = start + 45_000;
    reporter.onOutcome(done('p9'));
    expect(out.text()).toBe('batch: at this rate 800 of 2,000 prompts fit before 07:00; the rest wait for `batch resume`\n');
    for (let i = 10; i < 20; i++) reporter.onOutcome(done(`p${i}`));
    expect(out.text().split('\n')).toHaveLength(2);
    reporter.stop();
  });

  it('says nothing when the work fits, or before the rate means anything', async () => {
    let now = start;
    const out = capture();
    const reporter = new ProgressReporter({ stream: out.stream, isTTY: false, total: 100, now: () => now, deadlineAt });
    await reporter.start();
    now = start + 50_000;
    // One prompt in 50 s says 100 need 83 minutes: too early to tell.
    reporter.onOutcome(done('first'));
    for (let i = 0; i < 19; i++) reporter.onOutcome(done(`p${i}`));
    // 20 in 50 s: 100 need about 4 minutes, well before 07:00.
    expect(out.text()).toBe('');
    reporter.stop();
  });
});

describe('the summary of a run the deadline stopped', () => {
  it('says how many prompts remain, how long they need at this run\'s rate, and how to continue', () => {
    const text = formatRunSummary({
      job: 'night', database: 'd', output: 'o', exitCode: 6, total: 2000, done: 766, failed: 0, pending: 1234, alreadyDone: 0, changed: 0, invalid: 0,
      deduplicated: 0, cached: 0, sent: 766, succeeded: 766, failedThisRun: 0, retries: 0, wallMs: 240_000, requestsPerSecond: 3.2,
      completionTokens: 5, completionTokensPerSecond: 3.3, latencyMs: {}, modelLoads: [],
      interrupted: false, deadline: summarizeDeadline(deadlineAt, 1234, false, 3.2), resumeCommand: 'batch resume night',
    });
    expect(text).toContain('deadline 07:00 reached: 1,234 prompts left; at 3.2 prompts/s about 6m 25s; nothing is lost; continue with: batch resume night\n');
    expect(text).not.toContain('interrupted:');
  });
});
