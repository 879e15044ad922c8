import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, UsageError, toAppError } from '../../errors.js';
import { RetryPolicy } from '../../scheduler/retry-policy.js';
import { findAdviceFor } from '../../hardware/saved-advice.js';
import { machineIdentity } from '../../hardware/machine-identity.js';
import type { CompletionResult, ServerType } from '../../backends/backend.js';
import type { Router } from '../../scheduler/router.js';
import type { ServerEngine } from '../../servers/choose-server-launch.js';
import type { BenchPhase, BenchResult } from '../../store/benches.js';
import { CheckpointStore } from '../../store/checkpoint-store.js';
import { percentileRank } from '../../store/group-percentiles.js';
import { batchHome, jobDbPath, jobLogDir } from '../../store/job-paths.js';
import { openRouter } from '../routing/open-router.js';
import { resolveRunTarget } from '../routing/run-target.js';
import { settingDefault } from '../settings/settings-table.js';

/** What `batch bench` takes (its rows of the settings table). */
export interface RunBenchOptions {
  /** A running server to bench; else a managed server for `model`. */
  readonly server?: string;
  readonly serverType?: ServerType;
  readonly apiKeyEnv?: string;
  /** The GGUF model of the managed server. @default the default model */
  readonly model?: string;
  readonly llamaServer?: string;
  /** `--engine`: which server runs the managed model. @default 'auto' */
  readonly engine?: ServerEngine;
  /** @default saved advice, else 4 */
  readonly slots?: number;
  /** @default saved advice, else 2048 */
  readonly contextSize?: number;
  readonly threads?: number;
  /** Requests in flight in the pool phase. @default the server's slots, else saved advice, else 4 */
  readonly workers?: number;
  /** Cold starts of a managed model to time. @default 3 */
  readonly loads?: number;
  /** Prompts sent one at a time, then through the pool. @default 16 */
  readonly requests?: number;
  /** @default 32 */
  readonly maxTokens?: number;
  /** The job the result is saved in. @default "bench" */
  readonly job?: string;
  /** @default <BATCH_HOME>/<job>.sqlite */
  readonly db?: string;
}

export interface RunBenchContext {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Stops the bench between requests (Ctrl-C). */
  readonly signal?: AbortSignal;
  readonly notice?: (line: string) => void;
}

/** A bench's result, and where it was saved. */
export interface RunBenchResult extends BenchResult {
  readonly job: string;
  readonly database: string;
  /** How the target was served, in words ("llama-server at …", "embedded llama.cpp server"). */
  readonly description: string;
}

/** The prompts of a bench: short, distinct (no server-side cache hit), the same in both phases. */
function benchBodies(count: number, maxTokens: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    messages: [{ role: 'user', content: `Bench prompt ${i + 1}: write one short sentence about the number ${i + 1}.` }],
    max_tokens: maxTokens,
    temperature: 0,
  }));
}

function percentiles(latencies: readonly number[]): BenchPhase['latencyMs'] {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (p: number): number => sorted[percentileRank(sorted.length, p)] ?? 0;
  return { p50: at(50), p95: at(95), p99: at(99) };
}

/**
 * One bench request, sent again after a transient failure (5xx, reset, timeout, 429) as `batch
 * run` would, with its default `--retries` and backoff: one 500 must not end the bench. The
 * router hears of each failure, as it does in a run; a permanent error ends the bench.
 */
async function sendWithRetries(router: Router, body: Record<string, unknown>, timeoutMs: number, context: RunBenchContext): Promise<CompletionResult> {
  const retry = new RetryPolicy({ retries: settingDefault('run', 'retries') });
  for (let failures = 1; ; failures += 1) {
    const lease = await router.acquire(undefined);
    let error: AppError;
    try {
      const request = lease.model === undefined ? body : { ...body, model: lease.model };
      const result = await lease.backend.complete({ endpoint: '/v1/chat/completions', body: request, timeoutMs, ...(context.signal ? { signal: context.signal } : {}) });
      lease.release({});
      return result;
    } catch (thrown) {
      error = toAppError(thrown);
      lease.release(context.signal?.aborted === true ? undefined : { error });
    }
    const delay = context.signal?.aborted === true ? undefined : retry.delayMs(failures, error);
    if (delay === undefined) throw error;
    context.notice?.(`a bench request failed (${error.message}); sending it again (retry ${failures} of ${retry.retries})`);
    await sleep(delay, undefined, context.signal ? { signal: context.signal } : {});
  }
}

/** Sends `bodies` with `concurrency` requests in flight at once and measures them. */
async function sendAll(router: Router, bodies: ReadonlyArray<Record<string, unknown>>, concurrency: number, context: RunBenchContext): Promise<BenchPhase> {
  const latencies: number[] = [];
  let tokens = 0;
  let next = 0;
  const timeoutMs = settingDefault('run', 'timeoutMs');
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      context.signal?.throwIfAborted();
      const body = bodies[next++]!;
      const result = await sendWithRetries(router, body, timeoutMs, context);
      latencies.push(result.timings.latencyMs);
      tokens += result.completionTokens;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, bodies.length) }, worker));
  const wallMs = performance.now() - started;
  return {
    requests: latencies.length,
    concurrency,
    wallMs,
    requestsPerS: wallMs > 0 ? (latencies.length / wallMs) * 1000 : 0,
    completionTokens: tokens,
    tokensPerS: wallMs > 0 ? (tokens / wallMs) * 1000 : 0,
    latencyMs: percentiles(latencies),
  };
}

/**
 * `batch bench`: cold loads of a managed model (a few starts), then warm latency one request at a
 * time, then the same prompts through the pool at the advised worker count; saved in the job
 * database for `batch report`. A running `--server` cannot be made cold: its first request is
 * timed instead.
 */
export async function runBench(options: RunBenchOptions, context: RunBenchContext): Promise<RunBenchResult> {
  if (options.server !== undefined && options.model !== undefined) {
    throw new UsageError('batch bench takes --server (a running server) or --model (a managed one), not both');
  }
  const home = batchHome(context.env, context.cwd);
  const advice = findAdviceFor(home, machineIdentity()).advice;
  const job = options.job ?? settingDefault('bench', 'job');
  const database = options.db ?? jobDbPath(home, job);
  const managed = options.server === undefined;
  const loads = managed ? (options.loads ?? settingDefault('bench', 'loads')) : 0;
  const bodies = benchBodies(options.requests ?? settingDefault('bench', 'requests'), options.maxTokens ?? settingDefault('bench', 'maxTokens'));
  const settings = {
    ...(managed ? {} : { servers: [options.server!] }),
    ...(options.model === undefined ? {} : { models: [options.model] }),
    ...(options.serverType === undefined ? {} : { serverType: options.serverType }),
    ...(options.apiKeyEnv === undefined ? {} : { apiKeyEnv: options.apiKeyEnv }),
    ...(options.llamaServer === undefined ? {} : { llamaServer: options.llamaServer }),
    ...(options.engine === undefined ? {} : { engine: options.engine }),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    slots: options.slots ?? advice?.slots ?? settingDefault('bench', 'slots'),
    contextSize: options.contextSize ?? advice?.contextSize ?? settingDefault('bench', 'contextSize'),
    maxModels: 1,
    startupTimeoutMs: settingDefault('run', 'startupTimeoutMs'),
    keepAlive: settingDefault('run', 'keepAlive'),
    stream: false,
  };
  const target = resolveRunTarget(settings);
  const routerContext = { env: context.env, cwd: context.cwd, logDir: jobLogDir(home, job), notice: context.notice };
  const coldLoadsMs: number[] = [];
  let router: Router | undefined;
  let description = options.server ?? '';
  try {
    // Each cold start is a fresh server: its model is read from disk and loaded as a run would.
    for (let i = 0; i < Math.max(1, loads); i++) {
      await router?.close();
      router = undefined;
      context.signal?.throwIfAborted();
      router = await openRouter(target, settings, { ...routerContext, workersHint: options.workers ?? 64 });
      const started = performance.now();
      const lease = await router.acquire(undefined);
      lease.release();
      if (managed) {
        coldLoadsMs.push(router.loadStats()[0]?.loadMs ?? performance.now() - started);
        description = `${options.model ?? 'the default model'} on a managed server`;
        context.notice?.(`cold start ${i + 1} of ${loads}: ${Math.round(coldLoadsMs[coldLoadsMs.length - 1]!)} ms`);
      }
    }
    const ready = router!;
    const first = await sendAll(ready, bodies.slice(0, 1), 1, context);
    const sequential = await sendAll(ready, bodies, 1, context);
    const workers = options.workers ?? ready.capacity ?? advice?.workers ?? settingDefault('run', 'workers');
    const pool = await sendAll(ready, bodies, workers, context);
    const result: BenchResult = {
      target: options.server ?? options.model ?? 'the default model',
      kind: managed ? 'model' : 'server',
      coldLoadsMs,
      firstRequestMs: first.latencyMs.p50,
      sequential,
      pool,
      speedUp: sequential.requestsPerS > 0 ? pool.requestsPerS / sequential.requestsPerS : 0,
    };
    saveBench(database, job, result);
    return { ...result, job, database, description };
  } catch (error) {
    if (context.signal?.aborted === true) throw new AppError('INTERRUPTED', 'bench stopped by Ctrl-C; nothing was saved', { cause: error });
    throw error;
  } finally {
    await router?.close();
  }
}

/** Saves the result under job `name`, creating the job (with no prompts) when it is new. */
function saveBench(database: string, name: string, result: BenchResult): void {
  const store = CheckpointStore.open({ path: database });
  try {
    const job = store.openJob({ name, config: { version: 1, inputs: [], settings: {} }, inputFingerprint: 'bench' });
    store.recordBench(job.id, Date.now(), result);
    if (job.isNew) store.setJobState(job.id, 'done');
  } finally {
    store.close();
  }
}
