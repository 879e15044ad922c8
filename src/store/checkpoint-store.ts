import type BetterSqlite3 from 'better-sqlite3';
import type { PromptItem, PromptRecord } from '../prompts/prompt-item.js';
import { AppError, StoreError } from '../errors.js';
import { computeJobStats, type JobStats } from './job-stats.js';
import { isProcessAlive } from './is-process-alive.js';
import { ItemIngester, type IngestOptions, type IngestSummary } from './item-ingester.js';
import { openDatabase } from './open-database.js';
import { ItemQueries } from './item-queries.js';
import type { OutputRow } from './output-line.js';
import { ResultWriter, type ResultWriterOptions } from './result-writer.js';
import type { RunSample } from './run-sample.js';
import { recordSample } from './samples.js';
import { scrubArgv, scrubSecrets } from './scrub-secrets.js';
import type {
  AcquireLockResult,
  FinishedItem,
  FinishedItemsOptions,
  JobRecord,
  JobState,
  JobSummary,
  LockOwner,
  OpenJobOptions,
  PendingItemsOptions,
  PendingModel,
  StartRunOptions,
  StatusCounts,
  SupersededItem,
} from './store-records.js';

/** How to open a checkpoint store. */
export interface CheckpointStoreOptions {
  /** The job database file, or `:memory:` (tests). Its folder is created. */
  readonly path: string;
  /**
   * Read without writing (the query commands): nothing is created, migrated or locked.
   * @default false
   */
  readonly readonly?: boolean;
}

interface JobRow {
  readonly id: number;
  readonly name: string;
  readonly created_at: number;
  readonly config: string;
  readonly input_fingerprint: string;
  readonly state: JobState;
  readonly updated_at: number;
  readonly lock_pid: number | null;
  readonly lock_task?: string | null;
  readonly lock_host: string | null;
  readonly lock_at: number | null;
  /** Absent in a database opened read-only before migration 011a_inputs_read. */
  readonly inputs_read?: number;
}

function toJobRecord(row: JobRow, isNew: boolean): JobRecord {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    config: JSON.parse(row.config) as Record<string, unknown>,
    inputFingerprint: row.input_fingerprint,
    state: row.state,
    inputsRead: row.inputs_read !== 0,
    isNew,
  };
}

/**
 * The SQLite checkpoint of one or more jobs: their items, results, locks and runs. Every result
 * is committed as it arrives (in small groups), so a killed run loses at most the last group and
 * `batch resume` continues where it stopped.
 */
export class CheckpointStore {
  /** The file path (or `:memory:`), for messages. */
  readonly path: string;
  readonly #db: BetterSqlite3.Database;
  readonly #ingester: ItemIngester | undefined;
  readonly #insertJob: BetterSqlite3.Statement;
  readonly #selectJobByName: BetterSqlite3.Statement<[string], JobRow>;
  readonly #selectJobById: BetterSqlite3.Statement<[number], JobRow>;
  readonly #selectJobs: BetterSqlite3.Statement<[], JobRow>;
  readonly #updateJobState: BetterSqlite3.Statement;
  readonly #updateJobConfig: BetterSqlite3.Statement;
  readonly #deleteJob: BetterSqlite3.Statement;
  readonly #setLock: BetterSqlite3.Statement;
  readonly #clearLock: BetterSqlite3.Statement;
  readonly #insertRun: BetterSqlite3.Statement;
  readonly #updateRun: BetterSqlite3.Statement;
  readonly #jobActivity: BetterSqlite3.Statement<[{ jobId: number; updatedAt: number }], { started_at: number | null; last_at: number | null }>;
  readonly #items: ItemQueries;
  /** Prepared on first use: a read-only open of a database from before `006_samples` has no table. */

  private constructor(path: string, db: BetterSqlite3.Database, readonly: boolean) {
    this.path = path;
    this.#db = db;
    this.#ingester = readonly ? undefined : new ItemIngester(db);
    this.#insertJob = db.prepare(
      `INSERT INTO jobs (name, created_at, updated_at, config, input_fingerprint, state)
       VALUES (?, ?, ?, ?, ?, 'running')`,
    );
    this.#selectJobByName = db.prepare('SELECT * FROM jobs WHERE name = ?');
    this.#selectJobById = db.prepare('SELECT * FROM jobs WHERE id = ?');
    this.#selectJobs = db.prepare('SELECT * FROM jobs ORDER BY created_at, id');
    this.#updateJobState = db.prepare('UPDATE jobs SET state = ?, updated_at = ? WHERE id = ?');
    this.#updateJobConfig = db.prepare('UPDATE jobs SET config = ?, updated_at = ? WHERE id = ?');
    // Items and runs go with it (ON DELETE CASCADE).
    this.#deleteJob = db.prepare('DELETE FROM jobs WHERE id = ?');
    this.#setLock = db.prepare('UPDATE jobs SET lock_pid = ?, lock_host = ?, lock_task = ?, lock_at = ?, updated_at = ? WHERE id = ?');
    this.#clearLock = db.prepare(
      'UPDATE jobs SET lock_pid = NULL, lock_host = NULL, lock_task = NULL, lock_at = NULL, updated_at = ? WHERE id = ?',
    );
    this.#insertRun = db.prepare('INSERT INTO runs (job_id, started_at, pid, host, argv) VALUES (?, ?, ?, ?, ?)');
    this.#updateRun = db.prepare('UPDATE runs SET ended_at = ?, exit_code = ? WHERE id = ?');
    this.#jobActivity = db.prepare(
      `SELECT
         (SELECT min(started_at) FROM runs WHERE job_id = @jobId) AS started_at,
         max(coalesce((SELECT max(finished_at) FROM items WHERE job_id = @jobId), 0),
             coalesce((SELECT max(ended_at) FROM runs WHERE job_id = @jobId), 0),
             @updatedAt) AS last_at`,
    );
    this.#items = new ItemQueries(db);
  }

  /**
   * Opens (and if needed creates) a job database. Throws `STORE_UNAVAILABLE` when the file
   * cannot be opened, is not a database, or its folder cannot be written.
   */
  static open(options: CheckpointStoreOptions): CheckpointStore {
    const readonly = options.readonly ?? false;
    const db = openDatabase({ path: options.path, readonly });
    return new CheckpointStore(options.path, db, readonly);
  }

  /**
   * The underlying connection, for ad-hoc read queries (tests, diagnostics). Writing through it
   * while a `ResultWriter` is open breaks the writer's grouping.
   */
  get database(): BetterSqlite3.Database {
    return this.#db;
  }

  /** Closes the database. Close result writers first: their buffered results are lost otherwise. */
  close(): void {
    if (this.#db.open) this.#db.close();
  }

  // ---- jobs ----

  /** Loads the job named `name`, or creates it (state `running`). */
  openJob(options: OpenJobOptions): JobRecord {
    return this.#write('create the job', () => {
      return this.#db
        .transaction((): JobRecord => {
          const existing = this.#selectJobByName.get(options.name);
          if (existing !== undefined) return toJobRecord(existing, false);
          const now = Date.now();
          const config = JSON.stringify(scrubSecrets(options.config));
          const { lastInsertRowid } = this.#insertJob.run(options.name, now, now, config, options.inputFingerprint);
          const created = this.#selectJobById.get(Number(lastInsertRowid));
          if (created === undefined) throw new StoreError('STORE_WRITE_FAILED', `job "${options.name}" vanished from ${this.path} right after it was created`);
          return toJobRecord(created, true);
        })
        .immediate();
    });
  }

  /** The job named `name`, if the database has it. */
  getJob(name: string): JobRecord | undefined {
    const row = this.#selectJobByName.get(name);
    return row === undefined ? undefined : toJobRecord(row, false);
  }

  /** The job with id `jobId`, if the database has it. */
  getJobById(jobId: number): JobRecord | undefined {
    const row = this.#selectJobById.get(jobId);
    return row === undefined ? undefined : toJobRecord(row, false);
  }

  /** Every job in the database, oldest first, with item counts. */
  listJobs(host?: string): JobSummary[] {
    return this.#selectJobs.all().map((row) => {
      const counts = this.countByStatus(row.id);
      const activity = this.#jobActivity.get({ jobId: row.id, updatedAt: row.updated_at });
      const ownerGone =
        row.state === 'running' &&
        row.lock_pid !== null &&
        host !== undefined &&
        row.lock_host === host &&
        !isProcessAlive(row.lock_pid);
      return {
        name: row.name,
        state: ownerGone || (row.state === 'running' && row.lock_pid === null) ? 'interrupted' : row.state,
        total: counts.total,
        done: counts.done,
        failed: counts.failed,
        pending: counts.pending + counts.running,
        startedAt: activity?.started_at ?? row.created_at,
        lastActivityAt: activity?.last_at ?? row.created_at,
      };
    });
  }

  /** Sets the job's state (the scheduler: `done`/`failed` at the end, `interrupted` on Ctrl-C). */
  setJobState(jobId: number, state: JobState): void {
    return this.#write("record the job's state", () => {
      this.#updateJobState.run(state, Date.now(), jobId);
    });
  }

  /** Records whether the job holds all of its inputs (see `JobRecord.inputsRead`). */
  setInputsRead(jobId: number, read: boolean): void {
    return this.#write('record how far the inputs were read', () => {
      this.#db.prepare('UPDATE jobs SET inputs_read = ? WHERE id = ?').run(read ? 1 : 0, jobId);
    });
  }

  /** Replaces the job's saved config (secrets scrubbed), so the last run's settings are the ones a resume uses. */
  setJobConfig(jobId: number, config: Readonly<Record<string, unknown>>): void {
    return this.#write("record the job's settings", () => {
      this.#updateJobConfig.run(JSON.stringify(scrubSecrets(config)), Date.now(), jobId);
    });
  }

  /**
   * Removes a job with its items and runs: a run refused before it sent anything (no prompts,
   * duplicate custom_ids, an unreachable server) leaves no job behind for `batch resume` to pick.
   */
  deleteJob(jobId: number): void {
    return this.#write('delete a job', () => {
      this.#writable('delete a job');
      this.#deleteJob.run(jobId);
    });
  }

  // ---- lock and runs ----

  /**
   * Makes `owner` the only process running the job. A lock held by a live process, or by any
   * process on another host (whose liveness cannot be checked), throws `JOB_LOCKED`; a lock left
   * by a dead process on this host is taken over and reported.
   */
  acquireLock(jobId: number, owner: LockOwner): AcquireLockResult {
    return this.#write('lock the job', () => {
      return this.#db
        .transaction((): AcquireLockResult => {
          const job = this.#selectJobById.get(jobId);
          if (job === undefined) throw new StoreError('JOB_NOT_FOUND', `no job with id ${jobId} in ${this.path}; open it with openJob() first`);
          const now = Date.now();
          const held = job.lock_pid !== null && job.lock_host !== null;
          const mine = job.lock_pid === owner.pid && job.lock_host === owner.host;
          let tookOverFrom: LockOwner | undefined;
          if (held && !mine) {
            const pid = job.lock_pid as number;
            const host = job.lock_host as string;
            const sameTask = owner.task !== undefined && job.lock_task === owner.task;
            if (!sameTask && (host !== owner.host || isProcessAlive(pid))) {
              const since = new Date(job.lock_at ?? now).toISOString();
              throw new StoreError(
                'JOB_LOCKED',
                `job "${job.name}" is being run by pid ${pid} on host ${host} since ${since}; wait for it to finish or stop it`,
              );
            }
            tookOverFrom = sameTask ? { pid, host, task: owner.task } : { pid, host };
          }
          this.#setLock.run(owner.pid, owner.host, owner.task ?? null, now, now, jobId);
          return tookOverFrom === undefined ? {} : { tookOverFrom };
        })
        .immediate();
    });
  }

  /** Gives up the job's lock. */
  releaseLock(jobId: number): void {
    return this.#write("release the job's lock", () => {
      this.#clearLock.run(Date.now(), jobId);
    });
  }

  /** Records the start of a run (one process invocation); returns its id for `endRun`. */
  startRun(jobId: number, options: StartRunOptions): number {
    return this.#write('record the start of the run', () => {
      const argv = JSON.stringify(scrubArgv(options.argv));
      return Number(this.#insertRun.run(jobId, Date.now(), options.pid, options.host, argv).lastInsertRowid);
    });
  }

  /** Records how a run ended. */
  endRun(runId: number, exitCode: number): void {
    return this.#write('record the end of the run', () => {
      this.#updateRun.run(Date.now(), exitCode, runId);
    });
  }

  /**
   * Records one sample of a run (`samples`). A few rows a minute: written on the caller's
   * connection, not through the result writer.
   */
  insertSample(sample: RunSample): void {
    return this.#write('record a sample of the run', () => {
      this.#writable('record a sample of the run');
      recordSample(this.#db, sample);
    });
  }

  // ---- items ----

  /**
   * Loads prompt records into the job (see `IngestSummary`): new ones become pending, unchanged
   * ones keep their status, changed ones are reset, unreadable ones are recorded as failed.
   */
  async ingest(jobId: number, records: AsyncIterable<PromptRecord>, options?: IngestOptions): Promise<IngestSummary> {
    const ingester = this.#writable('ingest prompts');
    try {
      return await ingester.ingest(jobId, records, options);
    } catch (error) {
      throw this.#writeFailed('record the prompts', error);
    }
  }

  /** The job's items taken out because their lines left the inputs, in the order they left. */
  supersededItems(jobId: number): SupersededItem[] {
    const table = this.#db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'superseded_items'`).get();
    // A database no run has migrated since superseding existed, opened read-only: none yet.
    if (table === undefined) return [];
    return this.#db
      .prepare<[number], { custom_id: string; source: string; status: SupersededItem['status']; superseded_at: number }>(
        'SELECT custom_id, source, status, superseded_at FROM superseded_items WHERE job_id = ? ORDER BY superseded_at, rowid',
      )
      .all(jobId)
      .map((row) => ({ customId: row.custom_id, source: row.source, status: row.status, supersededAt: row.superseded_at }));
  }

  /** Items left `running` by a process that died go back to pending. Returns how many. */
  resetInterrupted(jobId: number): number {
    return this.#write('put interrupted prompts back to pending', () => {
      return this.#items.resetInterrupted(jobId);
    });
  }

  /** Failed items (not unreadable ones) go back to pending (`resume --retry-failed`). Returns how many. */
  resetFailed(jobId: number): number {
    return this.#write('put failed prompts back to pending', () => {
      return this.#items.resetFailed(jobId);
    });
  }

  /**
   * Gives pending deterministic items the answer of a done item with the same request in another
   * job of this database (`--cache`). Returns how many were answered.
   */
  applyCache(jobId: number, fromIndex = 0): number {
    return this.#write('apply the cache', () => {
      return this.#items.applyCache(jobId, fromIndex);
    });
  }

  /** Pending, dispatchable items per `body.model`, in order of first appearance. */
  pendingModels(jobId: number): PendingModel[] {
    return this.#items.pendingModels(jobId);
  }

  /**
   * The pending items of one model in input order, read a page at a time as the caller consumes
   * them. Duplicates are left out: they get their primary's result.
   */
  pendingItems(jobId: number, options: PendingItemsOptions): AsyncIterable<PromptItem> {
    return this.#items.pendingItems(jobId, options);
  }

  /** Finished (done or failed) items in input order, read a page at a time. */
  finishedItems(jobId: number, options: FinishedItemsOptions = {}): AsyncIterable<FinishedItem> {
    return this.#items.finishedItems(jobId, options);
  }

  /** The finished items as the JSONL output needs them (stored answers as text), in input order. */
  outputRows(jobId: number, options: FinishedItemsOptions = {}): Iterable<OutputRow> {
    return this.#items.outputRows(jobId, options);
  }

  /** Items per status. */
  countByStatus(jobId: number): StatusCounts {
    return this.#items.countByStatus(jobId);
  }

  /** Items that copy the answer of an identical deterministic item (what `jobStats` counts as deduplicated). */
  countDuplicates(jobId: number): number {
    return this.#items.countDuplicates(jobId);
  }

  /** Counts, throughput, latency percentiles and the most frequent errors. */
  jobStats(jobId: number): JobStats {
    return computeJobStats(this.#db, jobId, this.countByStatus(jobId));
  }

  /** A writer that group-commits results for the job. Close it before the store. */
  createResultWriter(jobId: number, options: ResultWriterOptions = {}): ResultWriter {
    this.#writable('record results');
    const job = this.getJobById(jobId);
    if (job === undefined) throw new StoreError('JOB_NOT_FOUND', `no job with id ${jobId} in ${this.path}; open it with openJob() first`);
    return new ResultWriter({ db: this.#db, path: this.path, jobId, jobName: job.name }, options);
  }

  /**
   * Runs a write; a failure of SQLite itself (disk full, I/O error, a read-only file) becomes
   * STORE_WRITE_FAILED naming the file and what was being recorded, never an INTERNAL error.
   */
  #write<T>(action: string, write: () => T): T {
    try {
      return write();
    } catch (error) {
      throw this.#writeFailed(action, error);
    }
  }

  #writeFailed(action: string, error: unknown): unknown {
    if (error instanceof AppError) return error;
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new StoreError(
      'STORE_WRITE_FAILED',
      `cannot ${action} in job database ${this.path}: ${message} (${code}); results already recorded are safe: free space (or make the file writable)`,
      error,
    );
  }

  #writable(action: string): ItemIngester {
    if (this.#ingester === undefined) {
      throw new StoreError('STORE_UNAVAILABLE', `cannot ${action} in job database ${this.path}: it was opened read-only; open it without \`readonly\``);
    }
    return this.#ingester;
  }
}
