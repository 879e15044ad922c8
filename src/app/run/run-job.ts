import path from 'node:path';
import { AppError, toAppError } from '../../errors.js';
import type { CheckpointStore } from '../../store/checkpoint-store.js';
import { jobDbPath } from '../../store/job-paths.js';
import { finishRunOutput } from './finish-run-output.js';
import type { RunSummary } from '../../reporting/run-summary.js';
import { readJobInsights, type JobInsights } from '../../reporting/job-insights.js';
import type { JobRecord } from '../../store/store-records.js';
import { resumeCommand } from '../job/resume-command.js';
import { checkModelIdentities } from './check-model-identities.js';
import { decideExit } from './decide-exit.js';
import { dispatchRun, type DispatchResult } from './run-dispatch.js';
import { RunDeadline } from './run-deadline.js';
import { RunIngest } from './run-ingest.js';
import type { RunJobContext, RunJobOptions } from './run-job-options.js';
import { resolveDeadline } from './resolve-deadline.js';
import { locateRun, planRun, type RunPlan } from './run-plan.js';
import { withOnFinish, type RunEndTracker } from './on-finish.js';
import { RunSession } from './run-session.js';
import { settleWork, type SettledWork } from './settle-work.js';
import { summarizeRun } from './summarize-run.js';

export type { RunJobContext, RunJobOptions } from './run-job-options.js';

/**
 * Runs (or resumes) one job, in phases: plan (what to do, checked before anything is created),
 * session (the job's lock and run record, always ended), ingest (the work: read beside the sending,
 * or from the store), dispatch (router, gate, scheduler, telemetry), then the end: the output
 * written, the exit code decided (`decideExit`) and the summary. Every server started is stopped.
 * A run refused before it sent anything leaves no job behind (and no database it created).
 */
export async function runJob(options: RunJobOptions, context: RunJobContext): Promise<RunSummary> {
  // A bad --until/--for is refused before anything is opened; the clock starts now.
  const deadlineAt = resolveDeadline(options, new Date());
  const location = locateRun(options, context);
  const { located, home } = location;
  const resumeWith = (retryFailed: boolean): string => resumeCommand({ job: located.job, db: located.db, defaultDb: jobDbPath(home, located.job), retryFailed });
  const sessionOptions = {
    located,
    resumeCommand: resumeWith,
    argv: context.argv ?? process.argv.slice(2),
    notice: context.notice,
    env: context.env,
    localCopy: options.localCopy,
    localCopyEveryMs: options.localCopyEveryMs,
  };
  // `--on-finish` when the run ends (on-finish.ts): it learns the plan and whether anything was sent.
  return withOnFinish({ env: context.env, stderr: context.stderr ?? process.stderr, stop: context.hardStop }, (end) => RunSession.run(sessionOptions, async (session) => {
    const plan = await planRun(session.existingJob(), location, options, context);
    end.planned = onFinishPlan(plan, jobDbPath(home, plan.job), context.cwd);
    const { store } = session;
    const { job, runId } = session.begin(plan);
    // Managed servers: the job's models must be the ones that answered it so far.
    if (plan.target.kind === 'managed' || plan.target.kind === 'daemon') {
      await checkModelIdentities({ store, jobId: job.id, jobName: plan.job, models: plan.target.models, accept: options.acceptModelChange === true, notice: context.notice });
    }
    // The deadline is a soft stop of its own: reading and sending stop at it as at a Ctrl-C.
    const deadline = deadlineAt === undefined ? undefined : new RunDeadline(deadlineAt, context.softStop);
    const runContext: RunJobContext = deadline === undefined ? context : { ...context, softStop: deadline.signal };
    try {
      const ingest = new RunIngest({ store, plan, jobId: job.id, cache: options.cache === true, context: runContext });
      // Nothing may write the store once it closes.
      session.beforeFailure(() => ingest.stop());
      await ingest.start();
      session.ingested = ingest.complete;
      const work = settleWork({ store, plan, jobId: job.id, isNewJob: job.isNew, ingest, retryFailed: options.retryFailed === true, cache: options.cache === true, notice: context.notice });
      const dispatched = await dispatchRun({
        store,
        plan,
        home,
        jobId: job.id,
        runId,
        ingest,
        before: work.before,
        onDispatch: () => {
          session.markDispatched();
          end.dispatched = true;
        },
        context: runContext,
        deadlineAt,
      });
      session.ingested = ingest.complete;
      return endRun({ session, plan, job, runId, ingest, work, dispatched, softStop: context.softStop, deadline, resumeWith });
    } finally {
      deadline?.stop();
    }
  }));
}

/** What `--on-finish` needs of the plan: the command (given or remembered), the paths, the key variables. */
function onFinishPlan(plan: RunPlan, defaultDatabase: string, cwd: string): RunEndTracker['planned'] {
  const serversFile = plan.target.kind === 'fleet' ? plan.target.serversFile : undefined;
  return { command: plan.given.onFinish || undefined, job: plan.job, output: path.resolve(cwd, plan.out), database: plan.db, defaultDatabase, keys: { apiKeyEnv: plan.given.apiKeyEnv, serversFile, cwd } };
}

interface EndRunOptions {
  readonly session: RunSession;
  readonly plan: RunPlan;
  readonly job: JobRecord;
  readonly runId: number;
  readonly ingest: RunIngest;
  readonly work: SettledWork;
  readonly dispatched: DispatchResult;
  /** The caller's soft stop (Ctrl-C), apart from the deadline. */
  readonly softStop?: AbortSignal;
  readonly deadline?: RunDeadline;
  readonly resumeWith: (retryFailed: boolean) => string;
}

/** The end of a run: interrupted prompts back to pending, the output written, the exit code decided, the summary. */
async function endRun(options: EndRunOptions): Promise<RunSummary> {
  const { session, plan, job, dispatched, resumeWith } = options;
  const { store } = session;
  const { scheduled } = dispatched;
  let storeError: AppError | undefined = dispatched.writerError;
  // Every server stayed down past --max-down: the run ends like a store failure, resumable.
  const downError = scheduled?.stoppedBy === 'servers-down' ? scheduled.stopError : undefined;
  // A prompt whose request was aborted (Ctrl-C, a store failure) was taken but not answered.
  try {
    store.resetInterrupted(job.id);
  } catch (error) {
    // The writer's failure, when there was one, is the one to report; the output is still written.
    storeError ??= toAppError(error);
  }
  // Servers this run loaded models on (its own, or the daemon's): the job's insights count these loads.
  if (plan.target.kind !== 'fleet' && dispatched.routerOpened) {
    try {
      store.recordRunModelLoads(options.runId, dispatched.modelLoads.reduce((sum, model) => sum + model.loads, 0));
    } catch (error) {
      storeError ??= toAppError(error);
    }
  }
  const after = store.countByStatus(job.id);
  // Not jobStats: its percentiles sort every item, and the summary needs only this count.
  const deduplicated = store.countDuplicates(job.id);
  const insights = readInsights(store, job);
  // The whole file again only when the one that grew could not be completed (see OutputAppender).
  await finishRunOutput(store, job.id, plan.out, dispatched.output);
  // The deadline, not a Ctrl-C, stopped a run that had work left (prompts, or inputs not all read).
  const deadlineReached = options.deadline?.reached === true && options.softStop?.aborted !== true && (after.pending > 0 || !options.ingest.complete);
  const interrupted = !deadlineReached && (scheduled?.stoppedBy === 'interrupt' || (options.softStop?.aborted ?? false));
  const decision = decideExit({ storeFailed: storeError !== undefined, serversDown: downError !== undefined, interrupted, deadlineReached, failed: after.failed, pending: after.pending });
  session.exitCode = decision.exitCode;
  store.setJobState(job.id, decision.jobState);
  const summary = summarizeRun({
    job: plan.job,
    database: plan.db,
    output: plan.out,
    exitCode: decision.exitCode,
    before: options.work.before,
    after,
    ingest: options.ingest.summary,
    deduplicated,
    cached: options.work.cached + dispatched.cached,
    scheduled: dispatched.statistics,
    wallMs: scheduled?.wallMs ?? Date.now() - dispatched.startedAt,
    modelLoads: dispatched.modelLoads,
    embeddedByDefault: dispatched.embeddedByDefault,
    interrupted,
    deadline: deadlineReached && options.deadline !== undefined ? { at: options.deadline.at, inputsLeft: !options.ingest.complete } : undefined,
    resumeCommand: decision.resume === undefined ? undefined : resumeWith(decision.resume === 'retry-failed'),
    insights,
  });
  if (storeError) throw storeError;
  if (downError) throw new AppError(downError.code, `${downError.message}; the job is checkpointed: continue with \`${resumeWith(false)}\``, { cause: downError });
  return summary;
}

/** The job's insights for the summary; a failure to read them leaves them out rather than failing a finished run. */
function readInsights(store: CheckpointStore, job: JobRecord): JobInsights | undefined {
  try {
    return readJobInsights(store, job);
  } catch {
    return undefined;
  }
}
