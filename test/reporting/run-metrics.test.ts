import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import type { PromptItem } from '../../src/prompts/prompt-item.js';
import { memoryLimitBytes, RunMetrics } from '../../src/reporting/run-metrics.js';
import type { StatusCounts } from '../../src/store/store-records.js';

const item = (customId: string, model?: string): PromptItem =>
  ({ customId, index: 0, source: 'x.jsonl:1', endpoint: '/v1/chat/completions', body: { ...(model === undefined ? {} : { model }), messages: [] } }) as unknown as PromptItem;

/** The value of one series of the exposition, `name{a="x",b="y"}` with its labels in any order. */
function valueOf(text: string, series: string): number | undefined {
  const parse = (s: string): string => {
    const [, name, labels = ''] = /^([^{ ]+)(?:\{(.*)\})?$/.exec(s)!;
    return `${name}{${[...labels.matchAll(/(\w+)="([^"]*)"/g)].map((m) => `${m[1]}=${m[2]}`).sort().join(',')}}`;
  };
  const wanted = parse(series);
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const cut = line.lastIndexOf(' ');
    if (parse(line.slice(0, cut)) === wanted) return Number(line.slice(cut + 1));
  }
  return undefined;
}

function findPromtool(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

describe('a run\'s Prometheus metrics', () => {
  it('count requests by model, server and outcome, retries by cause, tokens, latency, loads and servers, from the scheduler events', async () => {
    let counts: StatusCounts = { pending: 3, running: 1, done: 5, failed: 1, total: 10 };
    const metrics = new RunMetrics({ job: 'night', counts: () => counts, memoryLimitBytes: 8 * 2 ** 30 });
    const l = metrics.listener;
    const a = item('a');
    l.onRequestStart!(a, 'http://127.0.0.1:1', 1);
    l.onRequestEnd!(a, 'http://127.0.0.1:1');
    l.onRetry!(a, new AppError('SERVER_ERROR', 'HTTP 500'), 100);
    l.onRequestStart!(a, 'http://127.0.0.1:2', 2);
    l.onRequestEnd!(a, 'http://127.0.0.1:2');
    l.onOutcome!({ customId: 'a', status: 'done', attempts: 2, endpointUrl: 'http://127.0.0.1:2', latencyMs: 120, ttftMs: 30, promptTokens: 11, completionTokens: 7, modelLoadMs: 2500, finishedAt: 1 });
    const b = item('b', 'qwen');
    l.onRequestStart!(b, 'http://127.0.0.1:1', 1);
    l.onEndpointDown!('http://127.0.0.1:1', false);
    l.onOutcome!({ customId: 'b', status: 'failed', attempts: 1, endpointUrl: 'http://127.0.0.1:1', model: 'qwen', error: { code: 'CONTEXT_EXCEEDED', message: 'too long' }, finishedAt: 2 });
    l.onAllDown!(Date.now());
    metrics.onSample({ jobId: 1, runId: 1, at: 0, intervalMs: 5000, done: 1, failed: 1, queued: 4, inFlight: 1, inFlightByServer: {}, requestsPerS: 1, tokensPerS: 1, rssBytes: 1, heapBytes: 1, gpus: [{ index: 0, name: 'H100', utilizationPct: 37, memoryUsedBytes: 1024, memoryTotalBytes: 2048 }] });
    const { body, contentType } = await metrics.exposition();
    expect(contentType).toMatch(/^text\/plain/);
    expect(valueOf(body, 'batch_requests_total{model="default",server="http://127.0.0.1:1",outcome="SERVER_ERROR",job="night"}')).toBe(1);
    expect(valueOf(body, 'batch_requests_total{model="default",server="http://127.0.0.1:2",outcome="ok",job="night"}')).toBe(1);
    expect(valueOf(body, 'batch_requests_total{model="qwen",server="http://127.0.0.1:1",outcome="CONTEXT_EXCEEDED",job="night"}')).toBe(1);
    expect(valueOf(body, 'batch_retries_total{cause="SERVER_ERROR",job="night"}')).toBe(1);
    expect(valueOf(body, 'batch_prompts_finished_total{outcome="done",job="night"}')).toBe(1);
    expect(valueOf(body, 'batch_prompts_finished_total{outcome="failed",job="night"}')).toBe(1);
    expect(valueOf(body, 'batch_request_duration_seconds_bucket{le="0.1",model="default",job="night"}')).toBe(0);
    expect(valueOf(body, 'batch_request_duration_seconds_bucket{le="0.25",model="default",job="night"}')).toBe(1);
    expect(valueOf(body, 'batch_request_duration_seconds_sum{model="default",job="night"}')).toBeCloseTo(0.12, 6);
    expect(valueOf(body, 'batch_time_to_first_token_seconds_count{model="default",job="night"}')).toBe(1);
    expect(valueOf(body, 'batch_prompt_tokens_total{model="default",job="night"}')).toBe(11);
    expect(valueOf(body, 'batch_completion_tokens_total{model="default",job="night"}')).toBe(7);
    expect(valueOf(body, 'batch_model_loads_total{model="default",job="night"}')).toBe(1);
    expect(valueOf(body, 'batch_model_load_duration_seconds_sum{model="default",job="night"}')).toBe(2.5);
    expect(valueOf(body, 'batch_requests_in_flight{server="http://127.0.0.1:1",job="night"}')).toBe(1);
    expect(valueOf(body, 'batch_requests_in_flight{server="http://127.0.0.1:2",job="night"}')).toBe(0);
    expect(valueOf(body, 'batch_server_up{server="http://127.0.0.1:1",job="night"}')).toBe(0);
    expect(valueOf(body, 'batch_server_up{server="http://127.0.0.1:2",job="night"}')).toBe(1);
    expect(valueOf(body, 'batch_servers_all_down{job="night"}')).toBe(1);
    expect(valueOf(body, 'batch_prompts_queued{job="night"}')).toBe(4);
    expect(valueOf(body, 'batch_gpu_utilization_ratio{gpu="0",name="H100",job="night"}')).toBe(0.37);
    expect(valueOf(body, 'batch_gpu_memory_used_bytes{gpu="0",name="H100",job="night"}')).toBe(1024);
    expect(valueOf(body, 'batch_process_memory_limit_bytes{job="night"}')).toBe(8 * 2 ** 30);
    expect(valueOf(body, 'process_resident_memory_bytes{job="night"}')).toBeGreaterThan(0);
    // Prompts by state are read from the database at each scrape.
    expect(valueOf(body, 'batch_prompts{state="pending",job="night"}')).toBe(4);
    counts = { pending: 0, running: 0, done: 9, failed: 1, total: 10 };
    const later = (await metrics.exposition()).body;
    expect(valueOf(later, 'batch_prompts{state="pending",job="night"}')).toBe(0);
    expect(valueOf(later, 'batch_prompts{state="done",job="night"}')).toBe(9);
    // No label holds a prompt's custom_id.
    expect(later).not.toMatch(/"a"|"b"/);
  });

  it('keep counting across scrapes: each scrape shows the totals so far, not what came since the last', async () => {
    const metrics = new RunMetrics({ job: 'night', counts: () => ({ pending: 0, running: 0, done: 0, failed: 0, total: 0 }), memoryLimitBytes: 1 });
    const l = metrics.listener;
    const answer = (id: string): void => {
      l.onRequestStart!(item(id), 'http://127.0.0.1:1', 1);
      l.onRequestEnd!(item(id), 'http://127.0.0.1:1');
      l.onOutcome!({ customId: id, status: 'done', attempts: 1, endpointUrl: 'http://127.0.0.1:1', latencyMs: 10, completionTokens: 4, finishedAt: 1 });
    };
    answer('a');
    expect(valueOf((await metrics.exposition()).body, 'batch_requests_total{model="default",server="http://127.0.0.1:1",outcome="ok",job="night"}')).toBe(1);
    answer('b');
    answer('c');
    l.onRequestStart!(item('d'), 'http://127.0.0.1:1', 1);
    const body = (await metrics.exposition()).body;
    expect(valueOf(body, 'batch_requests_total{model="default",server="http://127.0.0.1:1",outcome="ok",job="night"}')).toBe(3);
    expect(valueOf(body, 'batch_prompts_finished_total{outcome="done",job="night"}')).toBe(3);
    expect(valueOf(body, 'batch_completion_tokens_total{model="default",job="night"}')).toBe(12);
    expect(valueOf(body, 'batch_requests_in_flight{server="http://127.0.0.1:1",job="night"}')).toBe(1);
  });

  it('count no request for a retry or a failure that sent nothing (no server could be had), only the retry and the prompt', async () => {
    const metrics = new RunMetrics({ job: 'night', counts: () => ({ pending: 0, running: 0, done: 0, failed: 0, total: 0 }), memoryLimitBytes: 1 });
    const l = metrics.listener;
    const a = item('a');
    // Sent once and refused: that request counts. Then no server is had, twice: nothing is sent.
    l.onRequestStart!(a, 'http://127.0.0.1:1', 1);
    l.onRequestEnd!(a, 'http://127.0.0.1:1');
    l.onRetry!(a, new AppError('SERVER_ERROR', 'HTTP 500'), 0);
    l.onRetry!(a, new AppError('SERVER_NOT_READY', 'not ready'), 0);
    l.onOutcome!({ customId: 'a', status: 'failed', attempts: 1, error: { code: 'SERVER_NOT_READY', message: 'not ready' }, finishedAt: 1 });
    const body = (await metrics.exposition()).body;
    expect(body.split('\n').filter((line) => line.startsWith('batch_requests_total{'))).toEqual(['batch_requests_total{model="default",server="http://127.0.0.1:1",outcome="SERVER_ERROR",job="night"} 1']);
    expect(valueOf(body, 'batch_retries_total{cause="SERVER_NOT_READY",job="night"}')).toBe(1);
    expect(valueOf(body, 'batch_prompts_finished_total{outcome="failed",job="night"}')).toBe(1);
  });

  it('pass promtool check metrics (Debian\'s prometheus package), when it is installed', async () => {
    const promtool = findPromtool();
    if (promtool === undefined) {
      console.log('SKIP: promtool is not installed (`.ci/run` installs Debian\'s prometheus package)');
      return;
    }
    const metrics = new RunMetrics({ job: 'night', counts: () => ({ pending: 1, running: 0, done: 0, failed: 0, total: 1 }) });
    metrics.listener.onOutcome!({ customId: 'a', status: 'done', attempts: 1, endpointUrl: 'http://127.0.0.1:1', model: 'qwen', latencyMs: 50, ttftMs: 20, promptTokens: 3, completionTokens: 5, modelLoadMs: 900, finishedAt: 1 });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-promtool-'));
    try {
      const file = path.join(dir, 'metrics.txt');
      writeFileSync(file, (await metrics.exposition()).body);
      // promtool reads the exposition on stdin; lint problems are printed and make it exit 3.
      const out = execFileSync('sh', ['-c', `"${promtool}" check metrics < "${file}"`], { encoding: 'utf8' });
      expect(out).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('read the memory limit from the cgroup, else the RAM', () => {
    expect(memoryLimitBytes((file) => (file.endsWith('memory.max') ? '1073741824\n' : ''))).toBe(2 ** 30);
    expect(memoryLimitBytes((file) => (file.endsWith('memory.max') ? 'max\n' : '9223372036854771712'))).toBe(os.totalmem());
    expect(memoryLimitBytes(() => {
      throw new Error('no cgroup');
    })).toBe(os.totalmem());
  });
});
