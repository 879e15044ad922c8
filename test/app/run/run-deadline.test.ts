import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runScheduler } from '../../helpers/run-scheduler.js';
import { BackendError, type AppError } from '../../../src/errors.js';
import { ExitCode } from '../../../src/exit-code.js';
import type { PromptItem } from '../../../src/prompts/prompt-item.js';
import type { ItemOutcome } from '../../../src/store/item-outcome.js';
import type { ResultSink, WorkSource } from '../../../src/scheduler/batch-scheduler.js';
import { StaticRouter } from '../../../src/app/routing/static-router.js';
import { RunDeadline } from '../../../src/app/run/run-deadline.js';
import { decideExit } from '../../../src/app/run/decide-exit.js';
import { FakeBackend, answer } from '../../scheduler/fake-backend.js';

const ids = (count: number): string[] => Array.from({ length: count }, (_, i) => `id-${i}`);

function source(list: readonly string[]): WorkSource {
  const items: PromptItem[] = list.map((customId, index) => ({ customId, index, source: `in.jsonl:${index + 1}`, endpoint: '/v1/chat/completions', body: { messages: [{ role: 'user', content: customId }] } }));
  return {
    models: () => [{ model: null, pending: items.length }],
    async *items() {
      yield* items;
    },
  };
}

class MemorySink implements ResultSink {
  readonly outcomes: ItemOutcome[] = [];
  readonly running: string[] = [];
  error: AppError | undefined;
  markRunning(id: string): void {
    this.running.push(id);
  }
  record(outcome: ItemOutcome): void {
    this.outcomes.push(outcome);
  }
}

/** A server that answers each request `serviceMs` after it arrives, on the (fake) clock; an aborted request ends at once. */
function slowBackend(serviceMs: number): FakeBackend {
  return new FakeBackend(
    'http://a',
    (request) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => resolve(answer(request)), serviceMs);
        request.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new BackendError('REQUEST_ABORTED', 'http://a', 'aborted'));
        });
      }),
  );
}

describe('a deadline reached mid-run (virtual clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date(2026, 11, 5, 22, 0) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stops sending, lets the prompts in flight finish, loses nothing, and decides exit 6', async () => {
    const backend = slowBackend(1000);
    const sink = new MemorySink();
    // Two workers, one second a prompt: at 3.5 s six are answered and two are on the wire.
    const deadline = new RunDeadline(Date.now() + 3500);
    const running = runScheduler({ router: new StaticRouter([{ backend, info: { type: 'openai', models: [] } }]), source: source(ids(20)), sink, workers: 2, softStop: deadline.signal, graceMs: 30_000 });
    await vi.advanceTimersByTimeAsync(3500);
    expect(deadline.reached).toBe(true);
    expect(backend.inFlight).toBe(2);
    await vi.advanceTimersByTimeAsync(1000);
    const summary = await running;
    expect(summary.stoppedBy).toBe('interrupt');
    // The two in flight finished as answers; not one more was sent after the deadline.
    expect(backend.calls).toBe(8);
    expect(summary).toMatchObject({ dispatched: 8, done: 8, failed: 0 });
    const answered = sink.outcomes.map((outcome) => outcome.customId);
    expect(new Set(answered)).toEqual(new Set(ids(8)));
    expect(sink.outcomes.every((outcome) => outcome.status === 'done')).toBe(true);
    // Nothing lost: the twelve never sent stay pending for `batch resume`.
    const decision = decideExit({ storeFailed: false, serversDown: false, interrupted: false, deadlineReached: deadline.reached, failed: 0, pending: 20 - answered.length });
    expect(decision).toEqual({ exitCode: ExitCode.Deadline, jobState: 'interrupted', resume: 'continue' });
  });

  it('aborts what is still in flight when --grace runs out: those prompts are not recorded, so they stay pending', async () => {
    const backend = slowBackend(10_000);
    const sink = new MemorySink();
    const deadline = new RunDeadline(Date.now() + 2000);
    const running = runScheduler({ router: new StaticRouter([{ backend, info: { type: 'openai', models: [] } }]), source: source(ids(5)), sink, workers: 2, softStop: deadline.signal, graceMs: 1000 });
    await vi.advanceTimersByTimeAsync(3000);
    const summary = await running;
    expect(deadline.reached).toBe(true);
    expect(backend.calls).toBe(2);
    expect(sink.outcomes).toHaveLength(0);
    expect(summary.stoppedBy).toBe('interrupt');
  });

  it('a run that ends before its deadline is not stopped by it, and a Ctrl-C before it is an interruption', async () => {
    const finished = new RunDeadline(Date.now() + 60_000);
    const sink = new MemorySink();
    const running = runScheduler({ router: new StaticRouter([{ backend: slowBackend(100), info: { type: 'openai', models: [] } }]), source: source(ids(4)), sink, workers: 2, softStop: finished.signal });
    await vi.advanceTimersByTimeAsync(200);
    expect((await running).stoppedBy).toBeUndefined();
    finished.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(finished.reached).toBe(false);
    expect(finished.signal.aborted).toBe(false);

    const ctrlC = new AbortController();
    const deadline = new RunDeadline(Date.now() + 60_000, ctrlC.signal);
    ctrlC.abort();
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.reached).toBe(false);
    deadline.stop();
  });
});
