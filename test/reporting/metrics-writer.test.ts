import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MetricsWriter } from '../../src/reporting/metrics-writer.js';
import { startRunTelemetry } from '../../src/reporting/run-telemetry.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-metrics-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const item = { customId: 'x', index: 0, source: 's', endpoint: '/v1/chat/completions' as const, body: {} };
const hasDevFull = existsSync('/dev/full');

describe('MetricsWriter', () => {
  it('appends one JSON line per record, after what the file held, creating its folder', async () => {
    const file = path.join(dir, 'new', 'folder', 'm.jsonl');
    const first = await MetricsWriter.open(file);
    first.write({ n: 1 });
    await first.close();
    const second = await MetricsWriter.open(file);
    second.write({ n: 2, s: 'a "quoted"\nline' });
    second.write({ n: 3 });
    await second.close();
    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2,"s":"a \\"quoted\\"\\nline"}\n{"n":3}\n');
    // Private, as the output and the job database are.
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('writes in batches while records keep coming, and everything by close()', async () => {
    const file = path.join(dir, 'batches.jsonl');
    const writer = await MetricsWriter.open(file, { batchLines: 10, flushIntervalMs: 60_000 });
    for (let i = 0; i < 95; i++) writer.write({ i });
    await writer.close();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => (JSON.parse(line) as { i: number }).i);
    expect(lines).toEqual(Array.from({ length: 95 }, (_, i) => i));
    expect(writer.dropped).toBe(0);
  });

  it('holds at most maxBufferedLines and counts what it drops past them, or after close()', async () => {
    const file = path.join(dir, 'bounded.jsonl');
    const writer = await MetricsWriter.open(file, { maxBufferedLines: 3, batchLines: 100, flushIntervalMs: 60_000 });
    for (let i = 0; i < 5; i++) writer.write({ i });
    await writer.close();
    writer.write({ late: true });
    expect(readFileSync(file, 'utf8')).toBe('{"i":0}\n{"i":1}\n{"i":2}\n');
    expect(writer.dropped).toBe(3);
  });

  it('refuses a file it cannot open with a message naming --metrics', async () => {
    const blocker = path.join(dir, 'a-file');
    writeFileSync(blocker, '');
    await expect(MetricsWriter.open(path.join(blocker, 'm.jsonl'))).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining(`--metrics ${path.join(blocker, 'm.jsonl')}: cannot open it`) });
  });

  it.runIf(hasDevFull)('a full disk stops the writing without an exception; close() says how much was lost', async () => {
    const writer = await MetricsWriter.open('/dev/full', { batchLines: 2 });
    writer.write({ a: 1 });
    writer.write({ a: 2 });
    writer.write({ a: 3 });
    await writer.close();
    expect(writer.error?.message).toMatch(/ENOSPC/);
    expect(writer.dropped).toBe(3);
  });
});

describe('startRunTelemetry', () => {
  it('writes prompt and sample lines from the events its listener hears', async () => {
    const file = path.join(dir, 'telemetry.jsonl');
    const samples: unknown[] = [];
    const telemetry = await startRunTelemetry({
      store: { insertSample: (sample) => samples.push(sample) },
      job: 'j',
      jobId: 1,
      runId: 2,
      pending: 1,
      metricsPath: file,
      env: {},
      gpu: null,
    });
    const { listener } = telemetry;
    listener.onDispatch?.(item);
    listener.onRequestStart?.(item, 'http://s', 1);
    listener.onRequestEnd?.(item, 'http://s');
    listener.onOutcome?.({ customId: 'x', status: 'done', attempts: 1, endpointUrl: 'http://s', completionTokens: 4, latencyMs: 9, modelLoadMs: 2, finishedAt: 0 });
    await telemetry.stop();
    expect(samples).toHaveLength(2);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.kind)).toEqual(['sample', 'prompt', 'sample']);
    expect(lines[1]).toEqual({
      timestamp: '1970-01-01T00:00:00.000Z',
      kind: 'prompt',
      job: 'j',
      run_id: 2,
      custom_id: 'x',
      status: 'done',
      error_code: null,
      duration_ms: 9,
      ttft_ms: null,
      queue_wait_ms: null,
      load_ms: 2,
      warm_start: true,
      model: null,
      endpoint: 'http://s',
      prompt_tokens: null,
      completion_tokens: 4,
      attempts: 1,
      retry_causes: null,
    });
    expect(lines[2]).toMatchObject({ kind: 'sample', job: 'j', run_id: 2, done: 1, failed: 0, queued: 0, in_flight: 0, gpus: null });
  });

  it('tells once, and goes on, when samples cannot be stored or the metrics file cannot be written', async () => {
    const notices: string[] = [];
    const telemetry = await startRunTelemetry({
      store: {
        insertSample: () => {
          throw new Error('cannot record a sample of the run in job database x.sqlite: disk I/O error');
        },
      },
      job: 'j',
      jobId: 1,
      runId: 1,
      pending: 0,
      metricsPath: hasDevFull ? '/dev/full' : undefined,
      env: {},
      gpu: null,
      notice: (line) => notices.push(line),
      intervalMs: 5,
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await telemetry.stop();
    expect(notices[0]).toBe('samples of the run are not recorded: cannot record a sample of the run in job database x.sqlite: disk I/O error');
    if (hasDevFull) {
      expect(notices).toHaveLength(2);
      expect(notices[1]).toMatch(/^--metrics \/dev\/full: writing stopped: .*ENOSPC.*; \d+ line\(s\) were not written \(the job database has every result\)$/);
    } else {
      expect(notices).toHaveLength(1);
    }
  });
});
