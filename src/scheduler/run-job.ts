import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { ExitCode, StoreError, UsageError, type AppError } from '../errors.js';
import { readPrompts } from '../prompts/read-prompts.js';
import type { PromptRecord } from '../prompts/prompt-item.js';
import { CheckpointStore } from '../store/checkpoint-store.js';
import { batchHome, jobDbPath, jobLogDir, jobNameFor, jobOutputPath, listJobDatabases, validateJobName } from '../store/job-paths.js';
import { writeOutput } from '../store/write-output.js';
import { ThreadedResultWriter } from '../store/threaded-result-writer.js';
import type { RunSummary } from '../reporting/run-summary.js';
import { BatchScheduler, type SchedulerListener, type WorkSource } from './batch-scheduler.js';
import { RetryPolicy } from './retry-policy.js';
import { openRouter, type RouterSettings } from './open-router.js';
import { advicePath, loadAdvice, type SavedAdvice } from '../hardware/saved-advice.js';

/**
 * Everything `batch run` and `batch resume` accept. Persisted in the job (minus secrets) so that
 * `batch resume` needs no flags.
 */
export interface RunJobOptions extends RouterSettings {
  /** Prompt folders, files, globs, or `-` (stdin). Empty for `resume`. */
  readonly inputs: readonly string[];
  /** Continue a job instead of reading inputs (`batch resume`). @default false */
  readonly resume?: boolean;
  /** Job name. @default derived from the inputs, so the same inputs continue the same job */
  readonly job?: string;
  /** Job database. @default <BATCH_HOME>/<job>.sqlite */
  readonly db?: string;
  /** Output JSONL. @default <BATCH_HOME>/<job>.output.jsonl */
  readonly out?: string;
  /** Requests in flight at once. @default endpoints' slots, else saved advice, else 4 */
  readonly workers?: number;
  /** Per-request timeout, ms. @default 600000 */
  readonly timeoutMs?: number;
  /** @default 5 */
  readonly retries?: number;
  /** @default 1800000 */
  readonly maxWaitMs?: number;
  /** @default 30000 */
  readonly graceMs?: number;
  /** Send failed prompts again (resume). @default false */
  readonly retryFailed?: boolean;
  /** Reuse answers from earlier jobs in the same database. @default false */
  readonly cache?: boolean;
}

export interface RunJobContext {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: NodeJS.ReadableStream;
  readonly softStop?: AbortSignal;
  readonly hardStop?: AbortSignal;
  /** Progress and notices. */
  readonly listener?: SchedulerListener;
  /** Called once the number of prompts to send is known, before the first is sent. */
  readonly onStart?: (info: { readonly pending: number; readonly job: string }) => void | Promise<void>;
  readonly notice?: (line: string) => void;
}

/** Options that are remembered in the job for `resume`; never secrets (the key's variable name only). */
const persisted = [
  'inputs', 'servers', 'serverType', 'apiKeyEnv', 'models', 'modelsDir', 'llamaServer', 'llamaServerArgs', 'maxModels',
  'slots', 'contextSize', 'threads', 'gpuLayers', 'memoryBudgetBytes', 'startupTimeoutMs', 'workers', 'timeoutMs', 'retries',
  'keepAlive', 'maxWaitMs', 'graceMs', 'stream', 'out',
] as const;

/**
 * Runs (or resumes) one job: read and checkpoint the prompts, send the pending ones through the
 * worker pool, commit results off the hot path, write the output, and stop every server started.
 */
export async function runJob(options: RunJobOptions, context: RunJobContext): Promise<RunSummary> {
  const home = batchHome(context.env, context.cwd);
  const located = options.resume ? locateResumeJob(options, home, context.cwd) : locateNewJob(options, home, context.cwd);
  const store = CheckpointStore.open({ path: located.db });
  const host = os.hostname();
  let runId: number | undefined;
  let jobId: number | undefined;
  let lockHeld = false;
  let exitCode: number = ExitCode.Internal;
  try {
    const existing = store.getJob(located.job);
    if (options.resume && existing === undefined) {
      throw new StoreError('JOB_NOT_FOUND', `no job "${located.job}" in ${located.db}; \`batch jobs\` lists them`);
    }
    const settings = mergeSettings(options, existing?.config, context.cwd);
    const job = store.openJob({
      name: located.job,
      config: pick(settings),
      inputFingerprint: fingerprint(settings.inputs),
    });
    jobId = job.id;
    const lock = store.acquireLock(job.id, { pid: process.pid, host });
    lockHeld = true;
    if (lock.tookOverFrom) {
      context.notice?.(`job "${located.job}" was left locked by pid ${lock.tookOverFrom.pid}, which is gone; taking over`);
    }
    runId = store.startRun(job.id, { pid: process.pid, host, argv: process.argv.slice(2) });

    const ingest = options.resume ? undefined : await store.ingest(job.id, reportInvalid(readPrompts(options.inputs, { cwd: context.cwd, stdin: context.stdin }), located.job, context.notice));
    if (ingest?.changed) {
      context.notice?.(`${ingest.changed} prompt(s) changed since the job started and will be sent again: ${ingest.changedIds.join(', ')}${ingest.changed > ingest.changedIds.length ? ', …' : ''}`);
    }
    store.resetInterrupted(job.id);
    if (options.retryFailed) store.resetFailed(job.id);
    const cached = options.cache ? store.applyCache(job.id) : 0;
    const before = store.countByStatus(job.id);
    if (before.total === 0) {
      throw new UsageError(`no prompts found in ${settings.inputs.join(', ')}; expected .txt/.md files or JSONL lines`);
    }

    const out = settings.out ?? jobOutputPath(home, located.job);
    // SQLite on a thread of its own when the compiled worker is there (always, outside TS-source tests).
    const writerScript = ThreadedResultWriter.workerScript();
    const writer = writerScript ? new ThreadedResultWriter({ path: store.path, jobId: job.id }, writerScript) : store.createResultWriter(job.id, {});
    const started = Date.now();
    let scheduled: Awaited<ReturnType<BatchScheduler['run']>> | undefined;
    let router: Awaited<ReturnType<typeof openRouter>> | undefined;
    try {
      if (before.pending > 0) {
        const advice = loadAdvice(home);
        const advised = advice ? adviceUsed(settings, advice) : [];
        if (advice && advised.length > 0) {
          context.notice?.(`using the advice of \`batch optimize\` (${advicePath(home)}, ${advice.savedAt}) for ${advised.join(', ')}; flags override it`);
        }
        router = await openRouter(settings, {
          advice,
          env: context.env,
          logDir: jobLogDir(home, located.job),
          workersHint: options.workers,
          notice: context.notice,
          pendingModels: store.pendingModels(job.id).map((m) => m.model),
        });
        const workers = settings.workers ?? router.defaultWorkers;
        await context.onStart?.({ pending: before.pending, job: located.job });
        const source: WorkSource = {
          models: () => store.pendingModels(job.id),
          items: (model) => store.pendingItems(job.id, { model, pageSize: Math.max(64, workers * 2) }),
        };
        scheduled = await new BatchScheduler({
          router: router.router,
          source,
          sink: writer,
          workers,
          timeoutMs: settings.timeoutMs,
          retryPolicy: new RetryPolicy({ retries: settings.retries ?? 5 }),
          maxWaitMs: settings.maxWaitMs,
          graceMs: settings.graceMs,
          softStop: context.softStop,
          hardStop: context.hardStop,
          listener: context.listener,
        }).run();
      }
    } finally {
      try {
        await writer.close();
      } catch {
        // writer.error holds it: reported after the output of what was committed is written.
      }
      await router?.router.close();
    }
    const storeError: AppError | undefined = writer.error;
    const after = store.countByStatus(job.id);
    const stats = store.jobStats(job.id);
    await writeOutput(store, job.id, { path: out, format: 'jsonl' });

    const interrupted = scheduled?.stoppedBy === 'interrupt' || (context.softStop?.aborted ?? false);
    exitCode = storeError
      ? ExitCode.Environment
      : interrupted
        ? ExitCode.Interrupted
        : after.failed > 0 || after.pending > 0
          ? ExitCode.PromptsFailed
          : ExitCode.Ok;
    store.setJobState(job.id, exitCode === ExitCode.Ok ? 'done' : exitCode === ExitCode.PromptsFailed && after.pending === 0 ? 'failed' : 'interrupted');
    const wallMs = scheduled?.wallMs ?? Date.now() - started;
    const loads = router?.router.loadStats() ?? [];
    const resumeCommand = after.pending > 0 || interrupted ? `batch resume ${located.job}${options.db ? ` --db ${options.db}` : ''}` : after.failed > 0 ? `batch resume ${located.job} --retry-failed` : undefined;
    const summary: RunSummary = {
      job: located.job,
      database: located.db,
      output: out,
      exitCode,
      total: after.total,
      done: after.done,
      failed: after.failed,
      pending: after.pending + after.running,
      alreadyDone: ingest?.alreadyDone ?? before.done - cached,
      changed: ingest?.changed ?? 0,
      invalid: ingest?.invalid ?? 0,
      deduplicated: stats.deduplicated,
      cached,
      sent: scheduled?.dispatched ?? 0,
      succeeded: scheduled?.done ?? 0,
      failedThisRun: scheduled?.failed ?? 0,
      retries: scheduled?.retries ?? 0,
      wallMs,
      requestsPerSecond: scheduled && wallMs > 0 ? (scheduled.done / wallMs) * 1000 : 0,
      completionTokens: scheduled?.completionTokens ?? 0,
      completionTokensPerSecond: scheduled && wallMs > 0 ? (scheduled.completionTokens / wallMs) * 1000 : 0,
      latencyMs: scheduled?.latencyMs ?? {},
      ttftP50Ms: scheduled?.ttftP50Ms,
      modelLoads: loads,
      warmStartRate: scheduled && scheduled.loadReported > 0 ? scheduled.warmStarts / scheduled.loadReported : undefined,
      interrupted,
      resumeCommand,
    };
    if (storeError) throw storeError;
    return summary;
  } catch (error) {
    exitCode = (error as AppError).exitCode ?? ExitCode.Internal;
    throw error;
  } finally {
    if (runId !== undefined) store.endRun(runId, exitCode);
    if (lockHeld && jobId !== undefined) store.releaseLock(jobId);
    store.close();
  }
}

/** Shows unreadable prompts as they are read (the first 20; all are in the output and `export --failed`). */
async function* reportInvalid(records: AsyncIterable<PromptRecord>, job: string, notice: ((line: string) => void) | undefined): AsyncIterable<PromptRecord> {
  let invalid = 0;
  for await (const record of records) {
    if (!record.ok) {
      invalid += 1;
      if (invalid <= 20) notice?.(`skipped: ${record.invalid.message}`);
    }
    yield record;
  }
  if (invalid > 20) notice?.(`skipped ${invalid - 20} more unreadable prompt(s); \`batch export ${job} --failed\` lists them all`);
}

/** The settings that saved advice supplies because no flag gave them, as `--flag N` for the notice. */
function adviceUsed(settings: Settings, advice: SavedAdvice): string[] {
  const managed = (settings.servers ?? []).length === 0;
  const used: string[] = [];
  if (settings.workers === undefined && !managed) used.push(`--workers ${advice.workers} (unless the servers report slots)`);
  if (managed) {
    if (settings.slots === undefined) used.push(`--slots ${advice.slots}`);
    if (settings.maxModels === undefined) used.push(`--max-models ${advice.maxModels}`);
    if (settings.contextSize === undefined) used.push(`--ctx ${advice.contextSize}`);
    if (settings.threads === undefined) used.push(`--threads ${advice.threads}`);
  }
  return used;
}

interface LocatedJob {
  readonly job: string;
  readonly db: string;
}

function locateNewJob(options: RunJobOptions, home: string, cwd: string): LocatedJob {
  if (options.inputs.length === 0) throw new UsageError('no inputs given; expected `batch run <folder|file.jsonl|glob|->...`');
  const job = options.job !== undefined ? validateJobName(options.job) : jobNameFor(options.inputs, cwd);
  return { job, db: options.db ? path.resolve(cwd, options.db) : jobDbPath(home, job) };
}

function locateResumeJob(options: RunJobOptions, home: string, cwd: string): LocatedJob {
  if (options.job !== undefined) {
    const job = validateJobName(options.job);
    return { job, db: options.db ? path.resolve(cwd, options.db) : jobDbPath(home, job) };
  }
  // No name: the most recently active unfinished job, the one a user means in the morning.
  const candidates: Array<{ job: string; db: string; at: number }> = [];
  const databases = options.db ? [{ path: path.resolve(cwd, options.db) }] : listJobDatabases(home);
  for (const database of databases) {
    const store = CheckpointStore.open({ path: database.path, readonly: true });
    try {
      for (const job of store.listJobs()) {
        if (job.state !== 'done') candidates.push({ job: job.name, db: database.path, at: job.lastActivityAt ?? job.startedAt ?? 0 });
      }
    } finally {
      store.close();
    }
  }
  const latest = candidates.sort((a, b) => b.at - a.at)[0];
  if (!latest) throw new StoreError('JOB_NOT_FOUND', `no unfinished job in ${options.db ?? home}; \`batch jobs\` lists the jobs there`);
  return latest;
}

type Settings = RunJobOptions & { readonly inputs: readonly string[] };

/** Flags given now win over the ones remembered in the job. */
function mergeSettings(options: RunJobOptions, stored: Readonly<Record<string, unknown>> | undefined, cwd: string): Settings {
  const merged: Record<string, unknown> = { ...(stored ?? {}) };
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (Array.isArray(value) && value.length === 0 && key !== 'inputs') continue;
    if (key === 'inputs' && options.resume) continue;
    merged[key] = value;
  }
  const inputs = (merged.inputs as string[] | undefined) ?? [];
  merged.inputs = inputs.map((input) => (input === '-' ? input : path.resolve(cwd, input)));
  // Paths are remembered absolute, so `batch resume` works from any folder.
  if (typeof options.out === 'string') merged.out = path.resolve(cwd, options.out);
  if (typeof options.modelsDir === 'string') merged.modelsDir = path.resolve(cwd, options.modelsDir);
  if (options.models && options.models.length > 0) {
    merged.models = options.models.map((model) => {
      // `alias=path`, unless the whole value names a file (the model catalog reads it the same way).
      const alias = existsSync(path.resolve(cwd, model)) ? null : /^([^=/\\]+)=(.+)$/.exec(model);
      return alias ? `${alias[1]}=${path.resolve(cwd, alias[2]!)}` : path.resolve(cwd, model);
    });
  }
  return merged as unknown as Settings;
}

function pick(settings: Settings): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const key of persisted) if (settings[key] !== undefined) config[key] = settings[key];
  return config;
}

function fingerprint(inputs: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify([...inputs].sort())).digest('hex').slice(0, 16);
}
