import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { toBatchOutputLine, toBatchOutputText, storedResponseText, type OutputRow } from '../../src/output/output-line.js';
import type { ResultWriter } from '../../src/store/result-writer.js';
import type { FinishedItem } from '../../src/output/finished-item.js';
import { writeOutput } from '../../src/output/write-output.js';
import { chat, done, feed, invalid } from '../store/fixtures.js';

let dir: string;
let store: CheckpointStore;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'batch-appender-'));
  store = CheckpointStore.open({ path: path.join(dir, 'job.sqlite') });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A job of `n` prompts p0..p(n-1); `bad` positions are unreadable lines. */
async function job(n: number, bad: readonly number[] = []): Promise<number> {
  const { id } = store.openJob({ name: 'j', config: {}, inputFingerprint: 'f' });
  const records = Array.from({ length: n }, (_, i) => (bad.includes(i) ? invalid(`p${i}`, i) : chat(`p${i}`, i)));
  await store.ingest(id, feed(records));
  return id;
}

async function expectedOutput(jobId: number): Promise<string> {
  const file = path.join(dir, 'expected.jsonl');
  await writeOutput(store, jobId, { path: file, format: 'jsonl' });
  return readFileSync(file, 'utf8');
}

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').slice(0, -1);
}

describe('toBatchOutputText', () => {
  const item = (over: Partial<FinishedItem>): FinishedItem => ({
    customId: 'c',
    index: 0,
    status: 'done',
    endpoint: '/v1/chat/completions',
    model: null,
    servedModel: null,
    response: null,
    error: null,
    promptTokens: null,
    completionTokens: null,
    latencyMs: null,
    invalid: false,
    duplicateOf: null,
    cached: false,
    ...over,
  });
  const rowOf = (i: FinishedItem, text?: string): OutputRow => ({
    customId: i.customId,
    status: i.status,
    response: text ?? (i.response === null ? null : storedResponseText(i.response)),
    errorCode: i.error?.code ?? null,
    errorMessage: i.error?.message ?? null,
  });
  const body = { id: 'x', '10': 'ten', '2': 2, choices: [{ message: { content: 'é \u2028 "quoted" \\ \ud800 😀' } }], n: 1e21, f: -0.5 };

  it.each([
    ['a done answer', item({ response: { statusCode: 200, requestId: 'r"1', body } })],
    ['a failed answer with its error', item({ status: 'failed', response: { statusCode: 404, requestId: 'r', body: { error: 'no' } }, error: { code: 'MODEL_NOT_FOUND', message: 'm "x"' } })],
    ['a failure without a recorded reason', item({ status: 'failed' })],
    ['an odd custom id', item({ customId: 'ü "q" \n', response: { statusCode: 200, requestId: '', body: {} } })],
  ])('%s: the same bytes as serialising the parsed line', (_, finished) => {
    expect(toBatchOutputText('job', rowOf(finished))).toBe(JSON.stringify(toBatchOutputLine('job', finished)));
  });

  it('parses a stored answer of another shape (no request id) as before', () => {
    const stored = JSON.stringify({ status_code: 200, body: { a: 1 } });
    const finished = item({ response: { statusCode: 200, requestId: undefined as unknown as string, body: { a: 1 } } });
    expect(toBatchOutputText('job', rowOf(finished, stored))).toBe(JSON.stringify(toBatchOutputLine('job', finished)));
  });
});

describe('the output as answers land', () => {
  it('grows with the finished prefix only, in input order, and ends as writeOutput writes it', async () => {
    const id = await job(6, [4]);
    const out = path.join(dir, 'out', 'o.jsonl');
    const writer = store.createResultWriter(id, { flushIntervalMs: 1e6, output: { path: out, jobName: 'j', intervalMs: 0 } });
    writer.readingEnded();
    writer.record(done('p1'));
    await writer.flush();
    expect(() => statSync(out)).toThrow();
    writer.record(done('p0'));
    writer.record(done('p3'));
    await writer.flush();
    expect(lines(out).map((l) => JSON.parse(l).custom_id)).toEqual(['p0', 'p1']);
    writer.record(done('p2'));
    await writer.flush();
    // p4 is unreadable (failed at ingest), so the prefix runs to the pending p5.
    expect(lines(out).map((l) => JSON.parse(l).custom_id)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    await writer.close();
    expect(writer.output).toEqual({ complete: true, lines: 5 });
    expect(readFileSync(out, 'utf8')).toBe(await expectedOutput(id));
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('at the end, appends the finished items past a gap, as writeOutput does', async () => {
    const id = await job(4);
    const out = path.join(dir, 'o.jsonl');
    const writer = store.createResultWriter(id, { output: { path: out, jobName: 'j', intervalMs: 0 } });
    writer.readingEnded();
    writer.record(done('p0'));
    writer.record(done('p2'));
    await writer.close();
    expect(writer.output?.complete).toBe(true);
    expect(lines(out).map((l) => JSON.parse(l).custom_id)).toEqual(['p0', 'p2']);
    expect(readFileSync(out, 'utf8')).toBe(await expectedOutput(id));
  });

  it('writes nothing past what is known while the inputs are still read, nor anything at all before', async () => {
    const id = await job(4);
    const out = path.join(dir, 'o.jsonl');
    const writer = store.createResultWriter(id, { output: { path: out, jobName: 'j', intervalMs: 0 } });
    writer.record(done('p0'));
    writer.record(done('p1'));
    await writer.flush();
    expect(() => statSync(out)).toThrow();
    writer.knownBefore(1);
    writer.record(done('p2'));
    await writer.flush();
    expect(lines(out).map((l) => JSON.parse(l).custom_id)).toEqual(['p0']);
    // Closed before reading ended: the file stays the known prefix, and is not complete.
    await writer.close();
    expect(writer.output).toEqual({ complete: false, lines: 1 });
  });

  it('continues a file that is exactly a prefix, without rewriting it', async () => {
    const id = await job(3);
    const out = path.join(dir, 'o.jsonl');
    const first = store.createResultWriter(id, { output: { path: out, jobName: 'j', intervalMs: 0 } });
    first.readingEnded();
    first.record(done('p0'));
    await first.flush();
    // Killed here: no close. The next run's writer finds one line.
    const inode = statSync(out).ino;
    const second = finishAll(id, out, ['p1', 'p2']);
    await second.close();
    expect(second.output).toEqual({ complete: true, lines: 3 });
    expect(statSync(out).ino).toBe(inode);
    expect(readFileSync(out, 'utf8')).toBe(await expectedOutput(id));
  });

  it.each([
    ['a line cut short by a kill', (text: string) => text + text.slice(0, 20)],
    ['a line that differs', (text: string) => text.replace('p0', 'px')],
    ['lines past the finished prefix', (text: string) => text + text],
  ])('replaces a file with %s by the finished prefix, atomically', async (_, corrupt) => {
    const id = await job(3);
    const out = path.join(dir, 'o.jsonl');
    const first = store.createResultWriter(id, { output: { path: out, jobName: 'j', intervalMs: 0 } });
    first.readingEnded();
    first.record(done('p0'));
    await first.close();
    writeFileSync(out, corrupt(readFileSync(out, 'utf8')));
    const inode = statSync(out).ino;
    const second = store.createResultWriter(id, { output: { path: out, jobName: 'j', intervalMs: 0 } });
    second.readingEnded();
    expect(statSync(out).ino).not.toBe(inode);
    expect(lines(out).map((l) => JSON.parse(l).custom_id)).toEqual(['p0']);
    second.record(done('p1'));
    second.record(done('p2'));
    await second.close();
    expect(readFileSync(out, 'utf8')).toBe(await expectedOutput(id));
  });

  it('rewrites a failed line that --retry-failed sends again, then appends its new answer', async () => {
    const id = await job(2);
    const out = path.join(dir, 'o.jsonl');
    const first = store.createResultWriter(id, { output: { path: out, jobName: 'j', intervalMs: 0 } });
    first.readingEnded();
    first.record({ customId: 'p0', status: 'failed', attempts: 1, error: { code: 'SERVER_ERROR', message: 'boom' }, finishedAt: 1 });
    first.record(done('p1'));
    await first.close();
    expect(readFileSync(out, 'utf8')).toContain('SERVER_ERROR');
    store.resetFailed(id);
    const second = finishAll(id, out, []);
    expect(() => statSync(out)).not.toThrow();
    expect(readFileSync(out, 'utf8')).toBe('');
    second.record(done('p0'));
    await second.close();
    expect(readFileSync(out, 'utf8')).toBe(await expectedOutput(id));
    expect(lines(out)).toHaveLength(2);
  });

  it('stops at a file it cannot write and says the output is incomplete', async () => {
    const id = await job(1);
    const out = path.join(dir, 'o.jsonl');
    writeFileSync(path.join(dir, 'blocker'), '');
    const writer = store.createResultWriter(id, { output: { path: path.join(dir, 'blocker', 'o.jsonl'), jobName: 'j', intervalMs: 0 } });
    writer.readingEnded();
    writer.record(done('p0'));
    await writer.close();
    expect(writer.output).toMatchObject({ complete: false, error: { code: 'STORE_WRITE_FAILED' } });
    expect(() => statSync(out)).toThrow();
  });

  it('appends answers committed just after an advance once intervalMs is up, with no further commit', async () => {
    vi.useFakeTimers();
    try {
      const id = await job(3);
      const out = path.join(dir, 'o.jsonl');
      const writer = store.createResultWriter(id, { flushIntervalMs: 1e6, output: { path: out, jobName: 'j', intervalMs: 500 } });
      writer.readingEnded();
      writer.record(done('p0'));
      await writer.flush();
      expect(lines(out).map((l) => JSON.parse(l).custom_id)).toEqual(['p0']);
      // The last answers for a while (a slow producer waits to see them): committed within the interval.
      writer.record(done('p1'));
      await writer.flush();
      expect(lines(out)).toHaveLength(1);
      vi.advanceTimersByTime(499);
      expect(lines(out)).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(lines(out).map((l) => JSON.parse(l).custom_id)).toEqual(['p0', 'p1']);
      await writer.close();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

/** A writer for the next run over the same file, with `ids` answered. */
function finishAll(jobId: number, out: string, ids: readonly string[]): ResultWriter {
  const writer = store.createResultWriter(jobId, { output: { path: out, jobName: 'j', intervalMs: 0 } });
  writer.readingEnded();
  for (const id of ids) writer.record(done(id));
  return writer;
}
