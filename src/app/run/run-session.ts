import { rmSync } from 'node:fs';
import os from 'node:os';
import { AppError, ExitCode, StoreError } from '../../errors.js';
import { CheckpointStore } from '../../store/checkpoint-store.js';
import { DatabaseWorkingCopy } from '../../store/database-working-copy.js';
import { schedulerTaskId } from '../../prompts/scheduler-shard.js';
import type { JobRecord } from '../../store/store-records.js';
import type { LocatedJob } from '../job/locate-job.js';
import { removeEmptyFolders } from '../../util/missing-folders.js';
import type { RunPlan } from './run-plan.js';

export interface RunSessionOptions {
  readonly located: LocatedJob;
  /** The command that continues the job: `retryFailed` adds `--retry-failed`. */
  readonly resumeCommand: (retryFailed: boolean) => string;
  /** The command line, recorded with the run. */
  readonly argv: readonly string[];
  readonly notice?: (line: string) => void;
  /** The environment: the scheduler task the lock records, the node-local folder of a working copy. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `--local-copy`: where the database is worked on (see `DatabaseWorkingCopy`). @default 'auto' */
  readonly localCopy?: 'auto' | 'always' | 'never';
  /** `--local-copy-every`, in milliseconds. @default 60000 */
  readonly localCopyEveryMs?: number;
}

/**
 * A run's hold on its job: the open database, the job's lock and the run's record. The only way
 * to get one is `RunSession.run`, whose one `finally` always ends it, whatever the work did: the
 * run record is closed with the exit code, the lock released, the database closed (and removed
 * with the folders made for it, when this run created it and it holds no job). A new job refused before its first request is
 * deleted: nothing to resume, nothing to list.
 */
export class RunSession {
  readonly store: CheckpointStore;
  /** Where the database is worked on: in place, or a node-local copy of one on a network filesystem. */
  readonly #workingCopy: DatabaseWorkingCopy;
  /** The exit code the run record is closed with; the work sets it, a failure overrides it. */
  exitCode: number = ExitCode.Internal;
  /**
   * Whether the job holds every item of its inputs, so that `batch resume` can continue it
   * without them; it decides the command a store failure's message suggests.
   */
  ingested = false;
  readonly #options: RunSessionOptions;
  #job: JobRecord | undefined;
  #runId: number | undefined;
  #lockHeld = false;
  #dispatched = false;
  #failure: unknown;
  readonly #beforeFailure: Array<() => Promise<void>> = [];

  private constructor(store: CheckpointStore, workingCopy: DatabaseWorkingCopy, options: RunSessionOptions) {
    this.store = store;
    this.#workingCopy = workingCopy;
    this.#options = options;
  }

  /** Opens the job's database, does `work` with the session, and ends the session however it ends. */
  static async run<T>(options: RunSessionOptions, work: (session: RunSession) => Promise<T>): Promise<T> {
    const session = new RunSession(...openDatabase(options), options);
    try {
      return await work(session);
    } catch (error) {
      throw await session.#fail(error);
    } finally {
      await session.#end();
    }
  }

  /** The job's record as it was before this run: undefined for a job not in the database yet. */
  existingJob(): JobRecord | undefined {
    return this.store.getJob(this.#options.located.job);
  }

  /** Opens (or creates) the job with the plan's config, takes its lock and starts the run's record. */
  begin(plan: RunPlan): { readonly job: JobRecord; readonly runId: number } {
    const { store } = this;
    const job = store.openJob({ name: plan.job, config: { ...plan.config }, inputFingerprint: plan.fingerprint });
    this.#job = job;
    if (!job.isNew) store.setJobConfig(job.id, { ...plan.config });
    const host = os.hostname();
    const lock = store.acquireLock(job.id, { pid: process.pid, host, task: schedulerTaskId(this.#options.env) });
    this.#lockHeld = true;
    const from = lock.tookOverFrom;
    if (from) {
      const by = from.task === undefined ? `pid ${from.pid}, which is gone` : `an earlier run of this scheduler task (${from.task}, pid ${from.pid} on ${from.host})`;
      this.#options.notice?.(`job "${plan.job}" was left locked by ${by}; taking over`);
    }
    const runId = store.startRun(job.id, { pid: process.pid, host, argv: this.#options.argv });
    this.#runId = runId;
    return { job, runId };
  }

  /** The first request is about to be sent: from now on the job stays, whatever happens. */
  markDispatched(): void {
    this.#dispatched = true;
  }

  /** A step taken on failure before the job is touched (nothing may write the store once it closes). */
  beforeFailure(step: () => Promise<void>): void {
    this.#beforeFailure.push(step);
  }

  async #fail(error: unknown): Promise<unknown> {
    this.exitCode = (error as AppError).exitCode ?? ExitCode.Internal;
    for (const step of this.#beforeFailure) await step();
    const job = this.#job;
    if (job?.isNew === true && !this.#dispatched) {
      // The job stays when it cannot be deleted, half read: the hint says to run the same command again, which reads it all.
      this.ingested = false;
      try {
        this.store.deleteJob(job.id);
        this.#job = undefined;
        this.#runId = undefined;
      } catch {
        // Reported as the original failure; the hint covers it.
      }
    }
    this.#failure = withHint(error, this.ingested, this.#options.resumeCommand(false));
    return this.#failure;
  }

  /**
   * The job's bookkeeping must not turn a finished run into a crash: a failure here (disk full) is
   * reported as what it is, after every step was tried, unless an earlier error is on its way.
   */
  async #end(): Promise<void> {
    const { store } = this;
    const problems: unknown[] = [];
    const attempt = (step: () => void): void => {
      try {
        step();
      } catch (error) {
        problems.push(error);
      }
    };
    const jobId = this.#job?.id;
    const runId = this.#runId;
    if (this.#dispatched && this.#failure !== undefined && jobId !== undefined) attempt(() => store.resetInterrupted(jobId));
    if (runId !== undefined) attempt(() => store.endRun(runId, this.exitCode));
    if (this.#lockHeld && jobId !== undefined) attempt(() => store.releaseLock(jobId));
    let empty = false;
    attempt(() => (empty = this.#options.located.created && store.listJobs().length === 0));
    store.close();
    if (empty) {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${this.#workingCopy.path}${suffix}`, { force: true });
      // A refused run leaves no ./checkpoints behind either: the folder comes with the first job.
      removeEmptyFolders(this.#options.located.createdFolders ?? []);
    }
    // Written back a last time (unless removed just above): the kept file is the job from now on.
    await this.#workingCopy.close().catch((error: unknown) => problems.push(error));
    if (this.#failure === undefined && problems.length > 0) throw withHint(problems[0], this.ingested, this.#options.resumeCommand(false));
  }
}

/**
 * The job's database, opened where SQLite is safe: on a network filesystem, a node-local copy that
 * is written back every `localCopyEveryMs` and when the session ends.
 */
function openDatabase(options: RunSessionOptions): [CheckpointStore, DatabaseWorkingCopy] {
  const { located, notice } = options;
  const owner = { pid: process.pid, host: os.hostname(), task: schedulerTaskId(options.env) };
  const workingCopy = DatabaseWorkingCopy.open({ db: located.db, mode: options.localCopy, copyEveryMs: options.localCopyEveryMs, env: options.env, owner });
  const from = workingCopy.tookOverFrom;
  if (from !== undefined) notice?.(`job database ${located.db} was left locked (${located.db}.lock) by pid ${from.pid} on ${from.host}${from.task === undefined ? '' : ` (${from.task})`}, which is gone; taking over`);
  if (workingCopy.isCopy) {
    const where = workingCopy.reason === 'asked for' ? 'kept' : `on ${workingCopy.reason}`;
    notice?.(`job database ${located.db} is ${where}: working on a copy on local disk (${workingCopy.path}), written back every ${workingCopy.copyEveryMs / 1000} s and at the end`);
  }
  let store: CheckpointStore;
  try {
    store = CheckpointStore.open({ path: workingCopy.path });
  } catch (error) {
    void workingCopy.close().catch(() => undefined);
    throw error;
  }
  workingCopy.startCopying((error) => notice?.(error.message));
  return [store, workingCopy];
}

/**
 * A store failure with the command that continues after it, as it must be typed: the resume
 * command once the job holds all its inputs, else the same command again (it reads them anew).
 */
export function withHint(error: unknown, ingested: boolean, resume: string): unknown {
  if (!(error instanceof AppError) || (error.code !== 'STORE_WRITE_FAILED' && error.code !== 'STORE_UNAVAILABLE')) return error;
  const next = ingested ? `continue with \`${resume}\`` : 'run the same command again';
  return new StoreError(error.code, `${error.message}; then ${next}`, error);
}
