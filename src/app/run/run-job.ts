import { rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { AppError, ExitCode, StoreError, toAppError } from '../../errors.js';
import { CheckpointStore } from '../../store/checkpoint-store.js';
import { batchHome, jobDbPath, jobLogDir, jobOutputPath } from '../../store/job-paths.js';
import { writeOutput } from '../../output/write-output.js';
import { ThreadedResultWriter } from '../../store/threaded-result-writer.js';
import type { RunSummary } from '../../reporting/run-summary.js';
import { summarizeRun } from './summarize-run.js';
import { BatchScheduler, type SchedulerListener, type SchedulerResult, type WorkSource } from '../../scheduler/batch-scheduler.js';
import { ListenerSet } from '../../scheduler/listener-set.js';
import { RunStatistics } from '../../reporting/run-statistics.js';
import { RetryPolicy } from '../../scheduler/retry-policy.js';
import type { Router } from '../../scheduler/router.js';
import { advicePath, findAdviceFor } from '../../hardware/saved-advice.js';
import { machineIdentity } from '../../hardware/machine-identity.js';
import { jobConfigOf, parseJobConfig } from '../job/job-config.js';
import type { JobSettings } from '../settings/settings-table.js';
import { checkOutputNotTemplate, describeTemplate, jobTemplateOf, sameTemplate, templatePaths } from '../job/job-template.js';
import { checkOutputPath } from '../job/check-output-path.js';
import { reportInvalidPrompts, type InvalidTally } from '../job/report-invalid-prompts.js';
import { checkMetricsPath } from '../job/check-metrics-path.js';
import { startRunTelemetry, type RunTelemetry } from '../../reporting/run-telemetry.js';
import type { IngestSummary } from '../../store/item-ingester.js';
import { absoluteSettings, locateJob } from '../job/locate-job.js';
import { removeEmptyFolders } from '../../util/missing-folders.js';
import { openRouter } from '../routing/open-router.js';
import { resolveRunSettings } from '../settings/resolve-run-settings.js';
import { planRequestGate } from '../routing/plan-request-gate.js';
import { formatInputShard, parseInputShard } from '../../prompts/input-shard.js';
import { resumeCommand } from '../job/resume-command.js';
import { loadJsonSchemaFile } from '../../prompts/load-json-schema.js';
import { readJobPrompts } from '../job/read-job-prompts.js';
import { InputContentHash } from '../../prompts/input-content-hash.js';
import { jsonAnswerCheck } from '../../scheduler/answer-check.js';
import { readJobInsights, type JobInsights } from '../../reporting/job-insights.js';
import type { JobRecord } from '../../store/store-records.js';
import { StreamingIngest } from './streaming-ingest.js';

/**
 * What `batch run` and `batch resume` take: the inputs, and the settings given now (flags). The
 * job's saved settings, saved advice and the settings table's defaults fill in the rest.
 */
export interface RunJobOptions extends JobSettings {
  /** Prompt folders, files, globs, or `-` (stdin). Empty for `resume`. */
  readonly inputs: readonly string[];
  /** Continue a job instead of reading inputs (`batch resume`). @default false */
  readonly resume?: boolean;
  /** Job name. @default derived from the inputs, so the same inputs continue the same job */
  readonly job?: string;
  /** Job database. @default <BATCH_HOME>/<job>.sqlite */
  readonly db?: string;
  /**
   * Send failed prompts again (resume). The inputs are read again first (unless they came from
   * stdin), so a line fixed since it was found unreadable is sent. @default false
   */
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
  /**
   * Called before the first prompt is sent, with the number to send. `reading`: the inputs are
   * still being read, and `onTotal` tells how the number grows.
   */
  readonly onStart?: (info: { readonly pending: number; readonly job: string; readonly reading?: boolean }) => void | Promise<void>;
  /** The number of prompts to send grew (inputs read while sending), or reading ended. */
  readonly onTotal?: (info: { readonly pending: number; readonly reading: boolean }) => void;
  readonly notice?: (line: string) => void;
  /** The command line, recorded with the run (secrets scrubbed). @default process.argv.slice(2) */
  readonly argv?: readonly string[];
}

/**
 * Runs (or resumes) one job: read and checkpoint the prompts, send the pending ones through the
 * worker pool, commit results off the hot path, write the output, and stop every server started.
 * A run refused before it sent anything leaves no job behind (and no database it created).
 */
export async function runJob(options: RunJobOptions, context: RunJobContext): Promise<RunSummary> {
  const home = batchHome(context.env, context.cwd);
  const templateGiven = options.resume ? undefined : jobTemplateOf(options, context.cwd);
  // Checked before anything is created: a shard is a job of its own, named after it.
  const shard = options.shard === undefined ? undefined : parseInputShard(options.shard);
  // A template run is named after its template and data, as other runs are after their inputs.
  const named = templateGiven === undefined || options.inputs.length > 0 ? options : { ...options, inputs: templatePaths(templateGiven) };
  const located = locateJob({ ...named, shard }, home, context.cwd);
  for (const line of located.skipped ?? []) context.notice?.(line);
  const store = CheckpointStore.open({ path: located.db });
  const resumeWith = (retryFailed: boolean): string =>
    resumeCommand({ job: located.job, db: located.db, defaultDb: jobDbPath(home, located.job), retryFailed });
  const host = os.hostname();
  let runId: number | undefined;
  let jobId: number | undefined;
  let jobIsNew = false;
  let dispatched = false;
  let lockHeld = false;
  /** The job holds every item of its inputs: `batch resume` can continue it without them. */
  let ingested = false;
  let failure: unknown;
  let exitCode: number = ExitCode.Internal;
  /** A new job's inputs, read and checkpointed while its first prompts are sent. */
  let streaming: StreamingIngest | undefined;
  try {
    const existing = store.getJob(located.job);
    if (options.resume && existing === undefined) {
      throw new AppError('JOB_NOT_FOUND', `no job "${located.job}" in ${located.db}; \`batch jobs\` lists them`);
    }
    const saved = existing === undefined ? undefined : parseJobConfig(existing.config, located.db);
    for (const line of saved?.ignored ?? []) context.notice?.(line);
    // Settings given now win over the ones the job remembers; the merge is what it remembers next.
    const given: JobSettings = { ...saved?.config.settings, ...definedOf(absoluteSettings(options, context.cwd)) };
    const inputs = options.resume ? (saved?.config.inputs ?? []) : options.inputs.map((input) => absoluteInput(input, context.cwd));
    const savedInputs = saved?.config.inputs ?? [];
    const template = options.resume ? saved?.config.template : templateGiven;
    // A job saved before its inputs were remembered has none to compare with: it adopts these.
    const remembers = savedInputs.length > 0 || saved?.config.template !== undefined;
    if (!options.resume && remembers && (!sameInputs(savedInputs, inputs) || !sameTemplate(saved?.config.template, template)) && options.replaceInputs !== true) {
      const describe = (list: readonly string[], t: typeof template): string => [...list, ...(t === undefined ? [] : [describeTemplate(t)])].join(', ');
      throw new AppError(
        'JOB_INPUTS_CHANGED',
        `job "${located.job}" (${located.db}) read ${describe(savedInputs, saved?.config.template)}; this run names ${describe(inputs, template)}. Pass --replace-inputs to make these its inputs (prompts not in them leave the job's output), or another --job to start a new job`,
      );
    }
    // Re-read on resume only to retry failed prompts (a line fixed since then replaces its
    // failure), or to read the rest of inputs an earlier run stopped reading.
    const partial = existing?.inputsRead === false;
    const reread = !options.resume || ((options.retryFailed === true || partial) && !inputs.includes('-'));
    if (options.resume && partial && inputs.includes('-')) {
      context.notice?.(`job "${located.job}" stopped reading standard input before its end: it holds the prompts read until then`);
    }
    if (options.resume && options.retryFailed === true && inputs.includes('-')) {
      context.notice?.(`job "${located.job}" read its prompts from standard input, which cannot be read again: unreadable lines stay failed; run the fixed lines with \`batch run - --job ${located.job}\``);
    }
    const share = shard ?? (given.shard === undefined ? undefined : parseInputShard(given.shard, `saved in ${located.db}`));
    const out = given.out ?? jobOutputPath(home, located.job);
    // Before anything is sent: finding out at the end that the output cannot be written, or that
    // writing it destroys the prompts or the job, loses the night.
    await checkOutputPath({ out, db: located.db, inputs, cwd: context.cwd, inputsMustExist: reread });
    checkOutputNotTemplate(out, template);
    // Checked before the job is touched: a schema that cannot work must not cost a night.
    if (given.metrics !== undefined) {
      await checkMetricsPath({ metrics: given.metrics, out, db: located.db, inputs, cwd: context.cwd, inputsMustExist: reread });
      checkOutputNotTemplate(given.metrics, template, '--metrics');
    }
    const jsonSchema = reread && given.jsonSchema !== undefined ? loadJsonSchemaFile(given.jsonSchema) : undefined;
    const config = jobConfigOf(inputs, given, template);
    const job = store.openJob({ name: located.job, config: { ...config }, inputFingerprint: fingerprint([...inputs, ...(template === undefined ? [] : templatePaths(template))]) });
    jobId = job.id;
    jobIsNew = job.isNew;
    if (!job.isNew) store.setJobConfig(job.id, { ...config });
    const lock = store.acquireLock(job.id, { pid: process.pid, host });
    lockHeld = true;
    if (lock.tookOverFrom) {
      context.notice?.(`job "${located.job}" was left locked by pid ${lock.tookOverFrom.pid}, which is gone; taking over`);
    }
    runId = store.startRun(job.id, { pid: process.pid, host, argv: context.argv ?? process.argv.slice(2) });

    // Told of the total as it grows while the inputs are read.
    let telemetry: RunTelemetry | undefined;
    const invalid: InvalidTally = {};
    const read = { seen: 0 };
    // What the inputs hold, fingerprinted as they are read: shards of other inputs cannot merge.
    const contentHash = new InputContentHash();
    let ingest: IngestSummary | undefined;
    if (reread) {
      // Until reading ends, the job holds only part of its inputs (whatever stops this run).
      store.setInputsRead(job.id, false);
      // The store's key finds duplicate custom_ids: the readers keep nothing per prompt.
      const prompts = readJobPrompts(inputs, { cwd: context.cwd, stdin: context.stdin, checkCustomIds: false, template, shard: share, selection: read, jsonSchema, contentHash });
      const records = reportInvalidPrompts(prompts, located.job, context.notice, invalid);
      if (store.countByStatus(job.id).total === 0) {
        // A new job: sending starts with its first prompts, reading goes on beside it.
        streaming = new StreamingIngest({
          store,
          jobId: job.id,
          records,
          signal: context.softStop,
          cache: options.cache === true,
          onLineError: (message) => context.notice?.(`skipped: ${message}`),
          onTotal: (total) => {
            context.onTotal?.(total);
            telemetry?.setPending(total.pending);
          },
        });
        await streaming.firstWork();
        if (!streaming.reading) ingest = await streaming.finished;
      } else {
        // Items already held are compared with the inputs before anything is sent: a changed or
        // removed line must not be sent as it was.
        ingest = await store.ingest(job.id, records, { signal: context.softStop });
      }
    }
    ingested = ingest?.stopped !== true && streaming?.reading !== true;
    if (reread && ingested) store.setInputsRead(job.id, true, contentHash.fingerprint);
    if (ingest?.stopped === true) stopReadingStdin(inputs, context.stdin);
    // A new job whose every prompt is unreadable has nothing to send: an input error, not a run.
    if (job.isNew && ingest !== undefined && ingest.total > 0 && ingest.invalid === ingest.total) {
      throw new AppError('PROMPT_INVALID', `nothing to send: all ${ingest.total} prompt(s) read are invalid, the first: ${invalid.first ?? '?'}; fix them and run the same command again`);
    }
    if (ingest?.changed) {
      context.notice?.(`${ingest.changed} prompt(s) changed since the job started and will be sent again: ${ingest.changedIds.join(', ')}${ingest.changed > ingest.changedIds.length ? ', …' : ''}`);
    }
    if (ingest?.superseded) {
      context.notice?.(
        `${ingest.superseded} prompt(s) are no longer in the inputs and leave the output (\`batch status ${located.job}\` lists them): ${ingest.supersededIds.join(', ')}${ingest.superseded > ingest.supersededIds.length ? ', …' : ''}`,
      );
    }
    store.resetInterrupted(job.id);
    if (options.retryFailed) store.resetFailed(job.id);
    let cached = options.cache ? store.applyCache(job.id) : 0;
    const before = store.countByStatus(job.id);
    if (before.total === 0 && ingest?.stopped === true) {
      throw new AppError('INTERRUPTED', `stopped while reading ${inputs.join(', ')}, before any prompt was read`);
    }
    const sources = [...inputs, ...(template === undefined ? [] : template.data.map((file) => file.path))].join(', ');
    if (before.total === 0 && share !== undefined && (read.seen > 0 || !reread)) {
      context.notice?.(`shard ${formatInputShard(share)} holds none of the prompts of ${sources}: nothing to send`);
    } else if (before.total === 0) {
      throw new AppError('NO_PROMPTS', `no prompts found in ${sources}; expected .txt/.md files, JSONL lines or --data rows`);
    }

    const found = findAdviceFor(home, machineIdentity());
    if (found.staleReason !== undefined) context.notice?.(found.staleReason);
    const { settings, fromAdvice } = resolveRunSettings(given, found.advice);
    // SQLite on a thread of its own when the compiled worker is there (always, unless run from source without a build).
    const writerScript = ThreadedResultWriter.workerScript();
    // The output file grows as answers land (on the writer's thread), a finished prefix at a time.
    const output = { path: path.resolve(context.cwd, out), jobName: located.job };
    const writer = writerScript ? new ThreadedResultWriter({ path: store.path, jobId: job.id, output }, writerScript) : store.createResultWriter(job.id, { output });
    const started = Date.now();
    let scheduled: SchedulerResult | undefined;
    // One channel for the run's events: the router's fleet events and the scheduler's, heard by
    // the caller (progress), telemetry, the streaming reader and the statistics of the summary.
    const events = new ListenerSet(context.listener);
    let statistics: RunStatistics | undefined;
    let router: Router | undefined;
    try {
      if (before.pending > 0 || streaming?.reading === true) {
        if (found.advice !== undefined && fromAdvice.length > 0) {
          context.notice?.(`using the advice of \`batch optimize\` (${advicePath(home)}, ${found.advice.savedAt}) for ${fromAdvice.join(', ')}; flags override it`);
        }
        router = await openRouter(settings, {
          env: context.env,
          cwd: context.cwd,
          logDir: jobLogDir(home, located.job),
          workersHint: settings.workers,
          notice: context.notice,
          fleetListener: events,
        });
        const { workers, gate } = planRequestGate(settings, router.capacity, found.advice);
        const pageSize = Math.max(64, workers * 2);
        // Refused before the first request (a duplicate custom_id, an unreadable file): no job.
        // A small input is read whole first (its duplicate ids refuse the run), a large one or a
        // producer still writing is sent beside the reading.
        await streaming?.readyToDispatch();
        streaming?.throwIfFailed();
        const pending = streaming?.pending ?? before.pending;
        await context.onStart?.({ pending, job: located.job, reading: streaming?.reading ?? false });
        telemetry = await startRunTelemetry({ store, job: located.job, jobId: job.id, runId: runId as number, pending, metricsPath: given.metrics, intervalMs: settings.sampleEveryMs, env: context.env, notice: context.notice });
        const source: WorkSource = streaming?.workSource(pageSize) ?? {
          models: () => store.pendingModels(job.id),
          items: (model) => store.pendingItems(job.id, { model, pageSize }),
        };
        dispatched = true;
        // Inputs read (and checkpointed) before this point: the output may grow up to any answer;
        // while they are read beside the sending, up to what was read. Not before the first
        // request: a run refused earlier leaves no output file behind.
        if (streaming) streaming.beginDispatch(writer);
        else if (ingest?.stopped !== true) writer.readingEnded();
        // Reading that fails once prompts were sent stops the sending; its error ends the run.
        const softStop = streaming && context.softStop ? AbortSignal.any([context.softStop, streaming.failedSignal]) : (streaming?.failedSignal ?? context.softStop);
        statistics = new RunStatistics();
        events.add(statistics);
        events.add(telemetry.listener);
        events.add(streaming?.listener);
        scheduled = await new BatchScheduler({
          router,
          source,
          sink: writer,
          workers,
          timeoutMs: settings.timeoutMs,
          retryPolicy: new RetryPolicy({ retries: settings.retries }),
          maxWaitMs: settings.maxWaitMs,
          graceMs: settings.graceMs,
          softStop,
          hardStop: context.hardStop,
          listener: events,
          answerCheck: jsonAnswerCheck({ retries: settings.jsonRetries }),
          gate,
        }).run();
      }
      if (streaming) {
        // Dispatch stopped early (a stop, a store failure): so does reading.
        await streaming.stop();
        ingest = await streaming.finished;
        cached += streaming.cached;
        ingested = !ingest.stopped;
        if (ingested) store.setInputsRead(job.id, true, contentHash.fingerprint);
        else stopReadingStdin(inputs, context.stdin);
      }
    } finally {
      await telemetry?.stop();
      try {
        await writer.close();
      } catch {
        // writer.error holds it: reported after the output of what was committed is written.
      }
      await router?.close();
    }
    let storeError: AppError | undefined = writer.error;
    // Every server stayed down past --max-down: the run ends like a store failure, resumable.
    const downError = scheduled?.stoppedBy === 'servers-down' ? scheduled.stopError : undefined;
    // A prompt whose request was aborted (Ctrl-C, a store failure) was taken but not answered.
    try {
      store.resetInterrupted(job.id);
    } catch (error) {
      // The writer's failure, when there was one, is the one to report; the output is still written.
      storeError ??= toAppError(error);
    }
    const after = store.countByStatus(job.id);
    // Not jobStats: its percentiles sort every item, and the summary needs only this count.
    const deduplicated = store.countDuplicates(job.id);
    const insights = readInsights(store, job);
    // The whole file again only when the one that grew could not be completed (see OutputAppender).
    if (writer.output?.complete !== true) await writeOutput(store, job.id, { path: out, format: 'jsonl' });

    const interrupted = scheduled?.stoppedBy === 'interrupt' || (context.softStop?.aborted ?? false);
    exitCode = storeError || downError
      ? ExitCode.Environment
      : interrupted
        ? ExitCode.Interrupted
        : after.failed > 0 || after.pending > 0
          ? ExitCode.PromptsFailed
          : ExitCode.Ok;
    store.setJobState(job.id, exitCode === ExitCode.Ok ? 'done' : exitCode === ExitCode.PromptsFailed && after.pending === 0 ? 'failed' : 'interrupted');
    const wallMs = scheduled?.wallMs ?? Date.now() - started;
    const resume = after.pending > 0 || interrupted ? resumeWith(false) : after.failed > 0 ? resumeWith(true) : undefined;
    const summary = summarizeRun({
      job: located.job,
      database: located.db,
      output: out,
      exitCode,
      before,
      after,
      ingest,
      deduplicated,
      cached,
      scheduled: statistics?.summary(),
      wallMs,
      modelLoads: router?.loadStats() ?? [],
      interrupted,
      resumeCommand: resume,
      insights,
    });
    if (storeError) throw storeError;
    if (downError) throw new AppError(downError.code, `${downError.message}; the job is checkpointed: continue with \`${resumeWith(false)}\``, { cause: downError });
    return summary;
  } catch (error) {
    exitCode = (error as AppError).exitCode ?? ExitCode.Internal;
    // Nothing may write the store once it closes.
    await streaming?.stop();
    // A new job refused before its first request is not a job: nothing to resume, nothing to list.
    if (jobIsNew && !dispatched && jobId !== undefined) {
      try {
        store.deleteJob(jobId);
        jobId = undefined;
        runId = undefined;
        ingested = false;
      } catch {
        // The job stays, half read: the hint says to run the same command again, which reads it all.
        ingested = false;
      }
    }
    failure = withHint(error, ingested, resumeWith(false));
    throw failure;
  } finally {
    // The job's bookkeeping must not turn a finished run into a crash: a failure here (disk full)
    // is reported as what it is, after every step was tried, unless an earlier error is on its way.
    const problems: unknown[] = [];
    const attempt = (step: () => void): void => {
      try {
        step();
      } catch (error) {
        problems.push(error);
      }
    };
    if (dispatched && failure !== undefined && jobId !== undefined) attempt(() => store.resetInterrupted(jobId as number));
    if (runId !== undefined) attempt(() => store.endRun(runId as number, exitCode));
    if (lockHeld && jobId !== undefined) attempt(() => store.releaseLock(jobId as number));
    let empty = false;
    attempt(() => (empty = located.created && store.listJobs().length === 0));
    store.close();
    if (empty) {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${located.db}${suffix}`, { force: true });
      // A refused run leaves no ./checkpoints behind either: the folder comes with the first job.
      removeEmptyFolders(located.createdFolders ?? []);
    }
    if (failure === undefined && problems.length > 0) throw withHint(problems[0], ingested, resumeWith(false));
  }
}

/**
 * A store failure with the command that continues after it, as it must be typed: the resume
 * command once the job holds all its inputs, else the same command again (it reads them anew).
 */
function withHint(error: unknown, ingested: boolean, resume: string): unknown {
  if (!(error instanceof AppError) || (error.code !== 'STORE_WRITE_FAILED' && error.code !== 'STORE_UNAVAILABLE')) return error;
  const next = ingested ? `continue with \`${resume}\`` : 'run the same command again';
  return new StoreError(error.code, `${error.message}; then ${next}`, error);
}

/** The rest of standard input is not read: a producer still writing must not keep `batch` alive. */
function stopReadingStdin(inputs: readonly string[], stdin: NodeJS.ReadableStream): void {
  if (inputs.includes('-')) (stdin as Partial<Readable>).destroy?.();
}

/** Whether two input lists name the same inputs, in any order. */
function sameInputs(a: readonly string[], b: readonly string[]): boolean {
  const left = [...new Set(a)].sort();
  const right = [...new Set(b)].sort();
  return left.length === right.length && left.every((input, i) => input === right[i]);
}

function definedOf<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function absoluteInput(input: string, cwd: string): string {
  return input === '-' ? input : path.resolve(cwd, input);
}

function fingerprint(inputs: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify([...inputs].sort())).digest('hex').slice(0, 16);
}

/** The job's insights for the summary; a failure to read them leaves them out rather than failing a finished run. */
function readInsights(store: CheckpointStore, job: JobRecord): JobInsights | undefined {
  try {
    return readJobInsights(store, job);
  } catch {
    return undefined;
  }
}
