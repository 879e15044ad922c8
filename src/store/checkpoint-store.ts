import type BetterSqlite3 from 'better-sqlite3';
import type { PromptRecord } from '../prompts/prompt-item.js';
import { AppError, StoreError } from '../errors.js';
import { recordBench, type BenchResult } from './benches.js';
import { lockTakeover } from './lock-takeover.js';
import { ItemIngester, type IngestOptions, type IngestSummary } from './item-ingester.js';
import { ItemQueries } from './item-queries.js';
import { JobReader } from './job-reader.js';
import { toJobRecord, type JobRow } from './job-row.js';
import { openDatabase } from './open-database.js';
import { ResultWriter, type ResultWriterOptions } from './result-writer.js';
import type { RunSample } from './run-sample.js';
import { recordSample } from './samples.js';
import type { ModelIdentity } from '../models/model-identity.js';
import { recordModelIdentity } from './model-identities.js';
import { scrubArgv, scrubSecrets } from './scrub-secrets.js';
import type { AcquireLockResult, JobRecord, JobState, LockOwner, OpenJobOptions, StartRunOptions } from './store-records.js';

/** How to open a checkpoint store. */
export interface CheckpointStoreOptions {
  /** The job database file, or `:memory:` (tests). Its folder is created. */
  readonly path: string;
  /**
   * Read without writing: nothing is created, migrated or locked, and writes are refused with
   * STORE_UNAVAILABLE. (`JobReader.open` is the read-only open without write methods; the query
   * commands use it.)
   * @default false
   */
  readonly readonly?: boolean;
}

/**
 * The SQLite checkpoint of one or more jobs: their items, results, locks and runs. Every result
 * is committed as it arrives (in small groups), so a killed run loses at most the last group and
 * `batch resume` continues where it stopped. The read queries are `JobReader`'s.
 */
export class CheckpointStore extends JobReader {
  readonly #db: BetterSqlite3.Database;
  readonly #ingester: ItemIngester | undefined;
  readonly #insertJob: BetterSqlite3.Statement;
  readonly #selectJobByName: BetterSqlite3.Statement<[string], JobRow>;
  readonly #selectJobById: BetterSqlite3.Statement<[number], JobRow>;
  readonly #updateJobState: BetterSqlite3.Statement;
  readonly #updateJobConfig: BetterSqlite3.Statement;
  readonly #deleteJob: BetterSqlite3.Statement;
  readonly #setLock: BetterSqlite3.Statement;
  readonly #clearLock: BetterSqlite3.Statement;
  readonly #insertRun: BetterSqlite3.Statement;
  readonly #updateRun: BetterSqlite3.Statement;
  readonly #items: ItemQueries;

  private constructor(path: string, db: BetterSqlite3.Database, readonly: boolean, items: ItemQueries) {
    super(path, db, items);
    this.#db = db;
    this.#items = items;
    this.#ingester = readonly ? undefined : new ItemIngester(db);
    this.#insertJob = db.prepare(
      `INSERT INTO jobs (name, created_at, updated_at, config, input_fingerprint, state)
       VALUES (?, ?, ?, ?, ?, 'running')`,
    );
    this.#selectJobByName = db.prepare('SELECT * FROM jobs WHERE name = ?');
    this.#selectJobById = db.prepare('SELECT * FROM jobs WHERE id = ?');
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
  }

  /**
   * Opens (and if needed creates) a job database. Throws `STORE_UNAVAILABLE` when the file
   * cannot be opened, is not a database, or its folder cannot be written.
   */
  static override open(options: CheckpointStoreOptions): CheckpointStore {
    const readonly = options.readonly ?? false;
    const db = openDatabase({ path: options.path, readonly });
    return new CheckpointStore(options.path, db, readonly, new ItemQueries(db));
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

  /** Sets the job's state (the scheduler: `done`/`failed` at the end, `interrupted` on Ctrl-C). */
  setJobState(jobId: number, state: JobState): void {
    return this.#write("record the job's state", () => {
      this.#updateJobState.run(state, Date.now(), jobId);
    });
  }

  /**
   * Records whether the job holds all of its inputs (see `JobRecord.inputsRead`), and with the
   * inputs read whole, the fingerprint of their content (see `JobRecord.inputFingerprint`).
   */
  setInputsRead(jobId: number, read: boolean, inputFingerprint?: string): void {
    return this.#write('record how far the inputs were read', () => {
      if (inputFingerprint === undefined) this.#db.prepare('UPDATE jobs SET inputs_read = ? WHERE id = ?').run(read ? 1 : 0, jobId);
      else this.#db.prepare('UPDATE jobs SET inputs_read = ?, input_fingerprint = ? WHERE id = ?').run(read ? 1 : 0, inputFingerprint, jobId);
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

  /** Makes `owner` the only process running the job (see `lockTakeover`: who may take it over, reported). */
  acquireLock(jobId: number, owner: LockOwner): AcquireLockResult {
    return this.#write('lock the job', () => {
      return this.#db
        .transaction((): AcquireLockResult => {
          const job = this.#selectJobById.get(jobId);
          if (job === undefined) throw new StoreError('JOB_NOT_FOUND', `no job with id ${jobId} in ${this.path}; open it with openJob() first`);
          const now = Date.now();
          const tookOverFrom = lockTakeover(job, owner, now);
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

  /** Records the model loads the run waited for (managed servers, the daemon): what the job's insights count. */
  recordRunModelLoads(runId: number, loads: number): void {
    return this.#write("record the run's model loads", () => {
      this.#db.prepare('UPDATE runs SET model_loads = ? WHERE id = ?').run(loads, runId);
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

  /** Records the result of `batch bench` in the job (`benches`); returns its id. */
  recordBench(jobId: number, at: number, result: BenchResult): number {
    return this.#write('record the benchmark', () => {
      this.#writable('record the benchmark');
      return recordBench(this.#db, jobId, at, result);
    });
  }

  /** Makes `identities` the job's own (`model_identities`): what its later runs compare with. */
  recordModelIdentities(jobId: number, identities: readonly ModelIdentity[]): void {
    this.#write('record the model identities', () => {
      this.#writable('record the model identities');
      for (const identity of identities) recordModelIdentity(this.#db, jobId, identity);
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
