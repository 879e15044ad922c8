import path from 'node:path';
import type { AppError } from '../../errors.js';
import { advicePath, findAdviceFor, type SavedAdvice } from '../../hardware/saved-advice.js';
import { machineIdentity } from '../../hardware/machine-identity.js';
import { startRunTelemetry, type RunTelemetry } from '../../reporting/run-telemetry.js';
import { jsonAnswerCheck } from '../../scheduler/answer-check.js';
import { BatchScheduler, type SchedulerResult } from '../../scheduler/batch-scheduler.js';
import { ListenerSet } from '../../scheduler/listener-set.js';
import { RunStatistics, type RunStatisticsSummary } from '../../reporting/run-statistics.js';
import { RetryPolicy } from '../../scheduler/retry-policy.js';
import type { Router } from '../../scheduler/router.js';
import type { CheckpointStore } from '../../store/checkpoint-store.js';
import { jobLogDir } from '../../store/job-paths.js';
import type { OutputAppenderResult } from '../../output/output-appender.js';
import type { ResultWriter } from '../../store/result-writer.js';
import type { StatusCounts } from '../../store/store-records.js';
import { ThreadedResultWriter } from '../../store/threaded-result-writer.js';
import { openRouter } from '../routing/open-router.js';
import { planRequestGate } from '../routing/plan-request-gate.js';
import { resolveRunSettings, type RunSettings } from '../settings/resolve-run-settings.js';
import type { RunIngest } from './run-ingest.js';
import type { RunJobContext } from './run-job-options.js';
import type { RunPlan } from './run-plan.js';

export interface DispatchOptions {
  readonly store: CheckpointStore;
  readonly plan: RunPlan;
  /** The batch home: saved advice, servers' logs. */
  readonly home: string;
  readonly jobId: number;
  readonly runId: number;
  readonly ingest: RunIngest;
  /** The job's counts before sending. */
  readonly before: StatusCounts;
  /** Called just before the first request: from then on the job stays, whatever happens. */
  readonly onDispatch: () => void;
  readonly context: RunJobContext;
  /** When the run stops sending (`--until`, `--for`), epoch ms, told to `onStart` for the progress line. */
  readonly deadlineAt?: number;
}

/** What dispatch leaves for the end of the run. */
export interface DispatchResult {
  /** How the scheduler ended; undefined when nothing was sent. */
  readonly scheduled?: SchedulerResult;
  /** The counts and latencies of what was sent, for the summary; undefined when nothing was sent. */
  readonly statistics?: RunStatisticsSummary;
  /** The result writer's failure (the store), reported once the output of what was committed is written. */
  readonly writerError?: AppError;
  /** Whether the output file that grew as answers landed is complete (else it is written whole again). */
  readonly outputComplete: boolean;
  /** What the output file that grew as answers landed holds (undefined when nothing was sent). */
  readonly output: OutputAppenderResult | undefined;
  readonly modelLoads: ReturnType<Router['loadStats']>;
  /** Whether the router was opened (its load counts mean something). */
  readonly routerOpened: boolean;
  /** The run's own servers ran on the embedded server because no llama-server was found (`--engine auto`). */
  readonly embeddedByDefault: boolean;
  /** When dispatch began (epoch ms), for the wall time of a run that sent nothing. */
  readonly startedAt: number;
  /** Prompts answered from the cache while the inputs were read beside the sending. */
  readonly cached: number;
}

type Writer = ResultWriter | ThreadedResultWriter;

/** What dispatch opened, closed in one `finally` whatever happened, and the statistics subscribed. */
interface Opened {
  router?: Router;
  telemetry?: RunTelemetry;
  statistics?: RunStatistics;
  embeddedByDefault?: boolean;
}

/**
 * The dispatch phase: the run's settings (flags, the job's, saved advice, defaults), the result
 * writer, and, when there is work, the router of the run's target, the request gate, telemetry and
 * the scheduler. The writer, the telemetry and the router are closed before it returns or throws.
 */
export async function dispatchRun(options: DispatchOptions): Promise<DispatchResult> {
  const { plan, home, context, ingest } = options;
  const found = findAdviceFor(home, machineIdentity());
  if (found.staleReason !== undefined) context.notice?.(found.staleReason);
  const { settings, fromAdvice } = resolveRunSettings(plan.given, found.advice, plan.target);
  const writer = openWriter(options);
  const startedAt = Date.now();
  const opened: Opened = {};
  let scheduled: SchedulerResult | undefined;
  let cached = 0;
  try {
    if (options.before.pending > 0 || ingest.reading) {
      if (found.advice !== undefined && fromAdvice.length > 0) {
        context.notice?.(`using the advice of \`batch optimize\` (${advicePath(home)}, ${found.advice.savedAt}) for ${fromAdvice.join(', ')}; flags override it`);
      }
      scheduled = await send(options, settings, found.advice, writer, opened);
    }
    // Dispatch stopped early (a stop, a store failure): so does reading.
    cached = await ingest.finish();
  } finally {
    await opened.telemetry?.stop();
    try {
      await writer.close();
    } catch {
      // writer.error holds it: reported after the output of what was committed is written.
    }
    await opened.router?.close();
  }
  return {
    scheduled,
    statistics: opened.statistics?.summary(),
    writerError: writer.error,
    outputComplete: writer.output?.complete === true,
    output: writer.output,
    modelLoads: opened.router?.loadStats() ?? [],
    routerOpened: opened.router !== undefined,
    embeddedByDefault: opened.embeddedByDefault === true,
    startedAt,
    cached,
  };
}

/**
 * SQLite on a thread of its own when the compiled worker is there (always, unless run from
 * source without a build); the output file grows as answers land (on the writer's thread), a finished prefix at a time.
 */
function openWriter(options: DispatchOptions): Writer {
  const { store, jobId, plan, context } = options;
  const writerScript = ThreadedResultWriter.workerScript();
  const output = { path: path.resolve(context.cwd, plan.out), jobName: plan.job };
  return writerScript ? new ThreadedResultWriter({ path: store.path, jobId, output }, writerScript) : store.createResultWriter(jobId, { output });
}

/** Opens the router and telemetry (into `opened`, for the caller to close) and runs the scheduler. */
async function send(options: DispatchOptions, settings: RunSettings, advice: SavedAdvice | undefined, writer: Writer, opened: Opened): Promise<SchedulerResult> {
  const { store, plan, home, context, ingest, jobId } = options;
  // One channel for the run's events: the router's fleet events and the scheduler's, heard by
  // the caller (progress), telemetry, the streaming reader and the statistics of the summary.
  const events = new ListenerSet(context.listener);
  const router = await openRouter(plan.target, settings, {
    env: context.env,
    cwd: context.cwd,
    logDir: jobLogDir(home, plan.job),
    job: plan.job,
    onEngine: (engine, chosen) => (opened.embeddedByDefault = engine === 'embedded' && !chosen),
    workersHint: settings.workers,
    notice: context.notice,
    fleetListener: events,
  });
  opened.router = router;
  const { workers, gate } = planRequestGate(plan.target, settings, router.capacity, advice);
  await ingest.readyToDispatch();
  const pending = ingest.pending(options.before.pending);
  await context.onStart?.({ pending, job: plan.job, reading: ingest.reading, deadlineAt: options.deadlineAt });
  const telemetry = await startRunTelemetry({ store, job: plan.job, jobId, runId: options.runId, pending, metricsPath: plan.given.metrics, metricsListen: plan.given.metricsListen, intervalMs: settings.sampleEveryMs, env: context.env, notice: context.notice });
  opened.telemetry = telemetry;
  // Told of the total as it grows while the inputs are read.
  ingest.onPending = (total) => telemetry.setPending(total);
  const source = ingest.workSource(Math.max(64, workers * 2));
  options.onDispatch();
  ingest.beginDispatch(writer);
  opened.statistics = new RunStatistics();
  events.add(opened.statistics);
  events.add(telemetry.listener);
  events.add(ingest.listener);
  return new BatchScheduler({
    router,
    source,
    sink: writer,
    workers,
    timeoutMs: settings.timeoutMs,
    retryPolicy: new RetryPolicy({ retries: settings.retries }),
    maxWaitMs: settings.maxWaitMs,
    graceMs: settings.graceMs,
    softStop: ingest.softStop(context.softStop),
    hardStop: context.hardStop,
    listener: events,
    answerCheck: jsonAnswerCheck({ retries: settings.jsonRetries }),
    gate,
  }).run();
}
