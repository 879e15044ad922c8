import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { jobDbPath } from '../../src/store/job-paths.js';
import { recordSample } from '../../src/store/samples.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';
import { runCliInProcess } from './run-cli-in-process.js';

/** A night in miniature, for `batch report` tests and README's screenshot. */
export interface ReportNight {
  readonly home: string;
  readonly job: string;
  readonly db: string;
  /** The two servers' URLs: the fast one, then the slow one. */
  readonly servers: readonly string[];
  /** Completion requests each server received, and those it answered 200 (fast server first). */
  readonly requests: readonly number[];
  readonly completed: readonly number[];
  readonly runCode: number;
  readonly runStdout: string;
}

export interface ReportNightOptions {
  /** Work folder: the prompts and the job database go under it. */
  readonly dir: string;
  /** @default 600 */
  readonly prompts?: number;
  /** Markup in a prompt's model name (it comes back in the failure message): the page must escape it. @default an <img> to a host that does not exist */
  readonly hostileModel?: string;
}

/** The name of the model a hostile prompt names, unless the test gives its own. */
export const hostileModel = `<img src="http://report-leak.invalid/x.png" onerror="alert(1)">`;

/**
 * A real run against two simulated llama-servers (one four times slower, both answering some 500s;
 * retries off, so some prompts fail), streamed so that time to first token and llama-server
 * timings are recorded; one prompt names a model with markup in it (a failure whose message
 * holds it). Then samples over the run's span, as the run's sampler writes them (memory growing,
 * a GPU under 50 % while prompts wait in the first half), through `recordSample`.
 */
export async function runReportNight(options: ReportNightOptions): Promise<ReportNight> {
  const count = options.prompts ?? 600;
  const fast = await startSimServer({ slots: 4, serviceMs: 2, completionTokens: 24, faults: { error500Rate: 0.02 }, seed: 7 });
  const slow = await startSimServer({ slots: 4, serviceMs: 8, completionTokens: 24, faults: { error500Rate: 0.02 }, seed: 8 });
  const servers: SimServer[] = [fast, slow];
  try {
    mkdirSync(options.dir, { recursive: true });
    const home = path.join(options.dir, 'home');
    const file = path.join(options.dir, 'night.jsonl');
    const lines = Array.from({ length: count }, (_, i) => JSON.stringify({ id: `n${i}`, prompt: `night prompt ${i}: ${'word '.repeat(i % 40)}`, max_tokens: 24 }));
    lines.push(JSON.stringify({ id: 'hostile', prompt: 'a prompt naming a model that does not exist', model: options.hostileModel ?? hostileModel }));
    writeFileSync(file, `${lines.join('\n')}\n`);
    const job = 'night';
    const run = await runCliInProcess(['run', file, '--job', job, '--server', fast.url, '--server', slow.url, '--workers', '6', '--retries', '0', '--stream', '--json'], { env: { BATCH_HOME: home } });
    const stats = servers.map((s) => s.stats());
    const db = jobDbPath(home, job);
    writeSamples(db, job);
    return { home, job, db, servers: servers.map((s) => s.url), requests: stats.map((s) => s.requests), completed: stats.map((s) => s.completed), runCode: run.code, runStdout: run.stdout };
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

/** Twenty samples over the job's span, from its items' times, with memory and one GPU. */
function writeSamples(db: string, name: string): void {
  const store = CheckpointStore.open({ path: db });
  try {
    const job = store.getJob(name)!;
    const raw = store.database;
    const span = raw.prepare<[number], { t0: number; t1: number; total: number }>('SELECT min(finished_at - coalesce(latency_ms, 0)) AS t0, max(finished_at) AS t1, count(*) AS total FROM items WHERE job_id = ?').get(job.id)!;
    const runId = raw.prepare<[number], number>('SELECT max(id) FROM runs WHERE job_id = ?').pluck().get(job.id) ?? null;
    const n = 20;
    const step = Math.max(1, (span.t1 - span.t0) / (n - 1));
    let previousDone = 0;
    let previousTokens = 0;
    for (let i = 0; i < n; i++) {
      const at = Math.round(span.t0 + i * step);
      const row = raw
        .prepare<[number, number, number, number, number], { done: number; failed: number; started: number; tokens: number }>(
          `SELECT count(*) FILTER (WHERE status = 'done' AND finished_at <= ?) AS done, count(*) FILTER (WHERE status = 'failed' AND finished_at <= ?) AS failed,
             count(*) FILTER (WHERE finished_at - coalesce(latency_ms, 0) <= ?) AS started, coalesce(sum(completion_tokens) FILTER (WHERE finished_at <= ?), 0) AS tokens FROM items WHERE job_id = ?`,
        )
        .get(at, at, at, at, job.id)!;
      const finished = row.done + row.failed;
      const queued = Math.max(0, span.total - row.started);
      const intervalMs = i === 0 ? 0 : Math.round(step);
      recordSample(raw, {
        jobId: job.id,
        runId,
        at,
        intervalMs,
        done: row.done,
        failed: row.failed,
        queued,
        inFlight: Math.max(0, row.started - finished),
        inFlightByServer: {},
        requestsPerS: intervalMs > 0 ? ((row.done - previousDone) / intervalMs) * 1000 : 0,
        tokensPerS: intervalMs > 0 ? ((row.tokens - previousTokens) / intervalMs) * 1000 : 0,
        rssBytes: 90 * 2 ** 20 + finished * 4096,
        heapBytes: 30 * 2 ** 20 + finished * 1024,
        gpus: [{ index: 0, name: 'Simulated GPU', utilizationPct: i < n / 2 ? 30 : 85, memoryUsedBytes: 4 * 2 ** 30, memoryTotalBytes: 24 * 2 ** 30 }],
      });
      previousDone = row.done;
      previousTokens = row.tokens;
    }
  } finally {
    store.close();
  }
}
