import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PromptMetric, SampleMetric } from '../../../src/reporting/metric-lines.js';
import { CheckpointStore } from '../../../src/store/checkpoint-store.js';
import { connectionOf } from '../../../src/store/connection-of.js';
import { runCliInProcess } from '../../helpers/run-cli-in-process.js';
import { startSimServer, type SimServer } from '../../sim/sim-server.js';

const serviceMs = 15;
const apiKey = 'sk-metrics-test-secret-4242';
let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-app-run-metrics-'));
  sim = await startSimServer({
    flavour: 'openai',
    slots: 4,
    serviceMs,
    apiKey,
    // Some requests are refused and sent again: the metrics must count them as the server did.
    faults: { retryAfterSeconds: 0 },
    script: (n) => (n % 7 === 3 ? '429' : n % 11 === 5 ? '500' : undefined),
  });
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

function fresh(name: string, count: number): { home: string; env: Record<string, string>; input: string } {
  const home = path.join(dir, name);
  mkdirSync(home, { recursive: true });
  const input = path.join(dir, `${name}.jsonl`);
  writeFileSync(input, Array.from({ length: count }, (_, i) => JSON.stringify({ id: `p${i}`, prompt: `question number ${i} ${'x'.repeat(i)}` })).join('\n') + '\n');
  return { home, env: { BATCH_HOME: home, SIM_KEY: apiKey }, input };
}

function readMetrics(file: string): { prompts: PromptMetric[]; samples: SampleMetric[] } {
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as PromptMetric | SampleMetric);
  return { prompts: lines.filter((l): l is PromptMetric => l.kind === 'prompt'), samples: lines.filter((l): l is SampleMetric => l.kind === 'sample') };
}

const sum = (values: ReadonlyArray<number | null>): number => values.reduce<number>((total, value) => total + (value ?? 0), 0);

describe('--metrics and samples of a run against the simulated server', () => {
  it('agree with what the server recorded: requests and tokens exactly, latencies at least its service time', async () => {
    sim.resetStats();
    const { home, env, input } = fresh('agree', 40);
    const metrics = path.join(dir, 'agree-metrics.jsonl');
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--api-key-env', 'SIM_KEY', '--job', 'agree', '--retries', '9', '--metrics', metrics, '-q'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const server = sim.stats();
    const { prompts, samples } = readMetrics(metrics);

    // One line per prompt; every request the server received is one of their attempts.
    expect(prompts).toHaveLength(40);
    expect(new Set(prompts.map((p) => p.custom_id)).size).toBe(40);
    expect(server.faults['429'] + server.faults['500']).toBeGreaterThan(0);
    expect(sum(prompts.map((p) => p.attempts))).toBe(server.requests);
    expect(prompts.filter((p) => p.status === 'done')).toHaveLength(server.completed);
    expect(sum(prompts.map((p) => p.prompt_tokens))).toBe(server.promptTokens);
    expect(sum(prompts.map((p) => p.completion_tokens))).toBe(server.completionTokens);
    // Each retry has its cause, as the server's faults were.
    const causes = prompts.map((p) => p.retry_causes ?? {});
    expect(sum(causes.map((c) => c.RATE_LIMITED ?? 0))).toBe(server.faults['429']);
    expect(sum(causes.map((c) => c.SERVER_ERROR ?? 0))).toBe(server.faults['500']);
    for (const prompt of prompts) {
      // The server holds each request serviceMs by a timer, which libuv's millisecond loop clock
      // may fire up to 1 ms early by performance.now(): that millisecond is the server's, not ours.
      expect(prompt.duration_ms).toBeGreaterThanOrEqual(serviceMs - 1);
      expect(prompt.queue_wait_ms).toBeGreaterThanOrEqual(0);
      expect(prompt).toMatchObject({ job: 'agree', run_id: 1, status: 'done', error_code: null, endpoint: sim.url, model: expect.any(String) });
      expect(Date.parse(prompt.timestamp)).not.toBeNaN();
    }

    // Samples: one at the start and one at the end at least; the last one adds up the run.
    expect(samples.length).toBeGreaterThanOrEqual(2);
    const [first, last] = [samples[0]!, samples.at(-1)!];
    expect(first).toMatchObject({ interval_ms: 0, done: 0, failed: 0, queued: 40, in_flight: 0, requests_per_s: null, tokens_per_s: null });
    expect(last).toMatchObject({ done: 40, failed: 0, queued: 0, in_flight: 0, in_flight_by_server: {} });
    const requests = sum(samples.map((s) => ((s.requests_per_s ?? 0) * s.interval_ms) / 1000));
    const tokens = sum(samples.map((s) => ((s.tokens_per_s ?? 0) * s.interval_ms) / 1000));
    expect(requests).toBeCloseTo(server.requests, 6);
    expect(tokens).toBeCloseTo(server.completionTokens, 6);
    expect(last.rss_bytes).toBeGreaterThan(0);
    expect(readFileSync(metrics, 'utf8')).not.toContain(apiKey);

    // The job database holds the same samples and the per-prompt waits and causes.
    const store = CheckpointStore.open({ path: path.join(home, 'agree.sqlite'), readonly: true });
    try {
      const rows = connectionOf(store).prepare('SELECT done, failed, queued, in_flight, interval_ms FROM samples ORDER BY at, id').all();
      expect(rows).toEqual(samples.map((s) => ({ done: s.done, failed: s.failed, queued: s.queued, in_flight: s.in_flight, interval_ms: s.interval_ms })));
      const items = connectionOf(store).prepare('SELECT custom_id, queue_wait_ms, retry_causes, attempts FROM items').all() as Array<{ custom_id: string; queue_wait_ms: number; retry_causes: string | null; attempts: number }>;
      const byId = new Map(prompts.map((p) => [p.custom_id, p]));
      for (const item of items) {
        const line = byId.get(item.custom_id)!;
        expect(item.queue_wait_ms).toBe(line.queue_wait_ms);
        expect(item.attempts).toBe(line.attempts);
        expect(item.retry_causes === null ? null : JSON.parse(item.retry_causes)).toEqual(line.retry_causes);
      }
    } finally {
      store.close();
    }
  });

  it('a resume appends to the file the job remembers, its lines carrying the new run', async () => {
    sim.resetStats();
    const { env, input } = fresh('resume', 6);
    const metrics = path.join(dir, 'resume-metrics.jsonl');
    // No retries: the faulted requests fail their prompts, which the resume sends again.
    const first = await runCliInProcess(['run', input, '--server', sim.url, '--api-key-env', 'SIM_KEY', '--job', 'resume', '--metrics', metrics, '--retries', '0', '-w', '1', '-q'], { env });
    expect(first.code).toBe(4);
    const before = readMetrics(metrics);
    const failed = before.prompts.filter((p) => p.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((p) => p.error_code === 'RATE_LIMITED' || p.error_code === 'SERVER_ERROR')).toBe(true);
    const resumed = await runCliInProcess(['resume', 'resume', '--retry-failed', '--retries', '5', '-q'], { env });
    expect(resumed.code).toBe(0);
    const after = readMetrics(metrics);
    expect(after.prompts.slice(0, before.prompts.length)).toEqual(before.prompts);
    const added = after.prompts.slice(before.prompts.length);
    expect(added.map((p) => p.custom_id).sort()).toEqual(failed.map((p) => p.custom_id).sort());
    expect(added.every((p) => p.run_id === 2 && p.status === 'done')).toBe(true);
    expect(after.samples.filter((s) => s.run_id === 2).length).toBeGreaterThanOrEqual(2);
  });

  it('samples carry each GPU when nvidia-smi is on PATH (a fake one here), in the database and the file', async () => {
    const { home, env, input } = fresh('gpus', 3);
    const bin = path.join(dir, 'fake-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, 'nvidia-smi'), '#!/bin/sh\necho "0, NVIDIA H200, 73, 2048, 143771"\necho "1, NVIDIA H200, [N/A], 0, 143771"\n');
    chmodSync(path.join(bin, 'nvidia-smi'), 0o755);
    const metrics = path.join(dir, 'gpus-metrics.jsonl');
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--api-key-env', 'SIM_KEY', '--job', 'gpus', '--retries', '9', '--metrics', metrics, '-q'], {
      env: { ...env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` },
    });
    expect(result.code).toBe(0);
    const mib = 1024 * 1024;
    for (const sample of readMetrics(metrics).samples) {
      expect(sample.gpus).toEqual([
        { index: 0, name: 'NVIDIA H200', utilization_pct: 73, memory_used_bytes: 2048 * mib, memory_total_bytes: 143771 * mib },
        { index: 1, name: 'NVIDIA H200', utilization_pct: null, memory_used_bytes: 0, memory_total_bytes: 143771 * mib },
      ]);
    }
    const store = CheckpointStore.open({ path: path.join(home, 'gpus.sqlite'), readonly: true });
    try {
      const gpus = connectionOf(store).prepare('SELECT gpus FROM samples').pluck().all() as string[];
      expect(gpus.length).toBeGreaterThanOrEqual(2);
      for (const json of gpus) expect(JSON.parse(json)[0]).toEqual({ index: 0, name: 'NVIDIA H200', utilizationPct: 73, memoryUsedBytes: 2048 * mib, memoryTotalBytes: 143771 * mib });
    } finally {
      store.close();
    }
  });

  it('refuses, before anything is sent, a --metrics file that is the output, an input or a folder', async () => {
    sim.resetStats();
    const { home, env, input } = fresh('refused', 2);
    const out = path.join(dir, 'refused-out.jsonl');
    const cases: Array<[string, string[], string]> = [
      ['the output', ['--out', out, '--metrics', out], `--metrics ${out} is the output file (--out)`],
      ['an input', ['--metrics', input], `--metrics ${input} is an input file`],
      ['a folder', ['--metrics', dir], `--metrics ${dir} is a folder`],
    ];
    for (const [, flags, message] of cases) {
      const result = await runCliInProcess(['run', input, '--server', sim.url, '--api-key-env', 'SIM_KEY', ...flags, '-q'], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
    }
    expect(sim.stats().requests).toBe(0);
    expect(readFileSync(input, 'utf8')).toContain('question number 0');
    expect(readdirSync(home)).toEqual([]);
  });
});
