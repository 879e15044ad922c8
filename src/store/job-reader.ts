import type BetterSqlite3 from 'better-sqlite3';
import type { FinishedItem } from '../output/finished-item.js';
import type { OutputRow } from '../output/output-line.js';
import { rememberConnection } from './connection-of.js';
import { ItemQueries, type PendingItems } from './item-queries.js';
import { liveCounts, liveJobState } from './job-liveness.js';
import { readInsightFacts, readReportFacts, type JobInsightFacts, type JobReportFacts } from './job-report-data.js';
import { computeJobStats, type JobStats } from './job-stats.js';
import type { ModelIdentity } from '../models/model-identity.js';
import { readModelIdentities } from './model-identities.js';
import { toJobRecord, type JobRow } from './job-row.js';
import { readWatchActivity, type WatchFacts } from './watch-facts.js';
import { openDatabase } from './open-database.js';
import type { FinishedItemsOptions, JobRecord, JobSummary, PendingItemsOptions, PendingModel, StatusCounts, SupersededItem } from './store-records.js';

/** How to open a job reader. */
export interface JobReaderOptions {
  /** The job database file (it must exist), or `:memory:` (tests). */
  readonly path: string;
}

/**
 * The read queries over a job database: its jobs, their items, statistics and the facts reports
 * are made of. `JobReader.open` opens the file read-only (the query commands: they work on a job
 * another process is running); `CheckpointStore` is a reader that also writes. No SQLite handle
 * leaves src/store/: callers get plain data.
 */
export class JobReader {
  /** The file path (or `:memory:`), for messages. */
  readonly path: string;
  readonly #db: BetterSqlite3.Database;
  readonly #items: ItemQueries;
  readonly #selectJobByName: BetterSqlite3.Statement<[string], JobRow>;
  readonly #selectJobById: BetterSqlite3.Statement<[number], JobRow>;
  readonly #selectJobs: BetterSqlite3.Statement<[], JobRow>;
  readonly #jobActivity: BetterSqlite3.Statement<[{ jobId: number; updatedAt: number }], { started_at: number | null; last_at: number | null }>;

  protected constructor(path: string, db: BetterSqlite3.Database, items: ItemQueries) {
    this.path = path;
    this.#db = db;
    this.#items = items;
    rememberConnection(this, db);
    this.#selectJobByName = db.prepare('SELECT * FROM jobs WHERE name = ?');
    this.#selectJobById = db.prepare('SELECT * FROM jobs WHERE id = ?');
    this.#selectJobs = db.prepare('SELECT * FROM jobs ORDER BY created_at, id');
    this.#jobActivity = db.prepare(
      `SELECT
         (SELECT min(started_at) FROM runs WHERE job_id = @jobId) AS started_at,
         max(coalesce((SELECT max(finished_at) FROM items WHERE job_id = @jobId), 0),
             coalesce((SELECT max(ended_at) FROM runs WHERE job_id = @jobId), 0),
             @updatedAt) AS last_at`,
    );
  }

  /**
   * Opens a job database read-only: nothing is created, migrated or locked. Throws
   * `STORE_UNAVAILABLE` when the file is missing, is not a batch database or cannot be read.
   */
  static open(options: JobReaderOptions): JobReader {
    const db = openDatabase({ path: options.path, readonly: true });
    return new JobReader(options.path, db, new ItemQueries(db));
  }

  /** Closes the database. A `CheckpointStore`: close its result writers first, or their buffered results are lost. */
  close(): void {
    if (this.#db.open) this.#db.close();
  }

  // ---- jobs ----

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

  /**
   * Every job in the database, oldest first, with item counts; a job's state follows its lock
   * (`liveJobState`; `host` is this machine unless a test says otherwise).
   */
  listJobs(host?: string): JobSummary[] {
    return this.#selectJobs.all().map((row) => {
      const counts = this.countByStatus(row.id);
      const activity = this.#jobActivity.get({ jobId: row.id, updatedAt: row.updated_at });
      return {
        name: row.name,
        state: liveJobState({ state: row.state, lockPid: row.lock_pid, lockHost: row.lock_host }, host),
        total: counts.total,
        done: counts.done,
        failed: counts.failed,
        pending: counts.pending + counts.running,
        startedAt: activity?.started_at ?? row.created_at,
        lastActivityAt: activity?.last_at ?? row.created_at,
      };
    });
  }

  // ---- items ----

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

  /** Pending, dispatchable items per `body.model`, in order of first appearance. */
  pendingModels(jobId: number): PendingModel[] {
    return this.#items.pendingModels(jobId);
  }

  /**
   * The pending items of one model in input order, read a page at a time as the caller consumes
   * them. Duplicates are left out: they get their primary's result.
   */
  pendingItems(jobId: number, options: PendingItemsOptions): PendingItems {
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

  // ---- statistics ----

  /** Counts, throughput, latency percentiles and the most frequent errors. */
  jobStats(jobId: number): JobStats {
    return computeJobStats(this.#db, jobId, this.#liveCounts(jobId, this.countByStatus(jobId)));
  }

  /** Counts as a reader should see them: in-flight items of a run that is gone are pending (`liveCounts`). */
  #liveCounts(jobId: number, counts: StatusCounts): StatusCounts {
    const job = this.getJobById(jobId);
    return job === undefined ? counts : liveCounts(counts, job.state);
  }

  /** Facts whose counts are read through the job's liveness. */
  #live<T extends JobInsightFacts>(jobId: number, facts: T): T {
    return { ...facts, stats: { ...facts.stats, counts: this.#liveCounts(jobId, facts.stats.counts) } };
  }

  /** What `batch status` and the end of a run say about a job, as stored facts (src/reporting/ words them). */
  insightFacts(jobId: number): JobInsightFacts {
    return this.#live(jobId, readInsightFacts(this.#db, jobId));
  }

  /** Everything `batch report` shows about a job, as stored facts, read in one transaction. */
  reportFacts(jobId: number): JobReportFacts {
    return this.#live(jobId, readReportFacts(this.#db, jobId));
  }

  /**
   * What `batch status --watch` shows at one refresh: the job's state and counts by the liveness
   * rule, its newest failures, its servers' activity and its newest sample, read in one transaction.
   */
  watchFacts(name: string): WatchFacts | undefined {
    return this.#db.transaction((): WatchFacts | undefined => {
      const job = this.getJob(name);
      if (job === undefined) return undefined;
      const counts = liveCounts(this.countByStatus(job.id), job.state);
      return { job: job.name, state: job.state, counts, ...readWatchActivity(this.#db, job.id) };
    })();
  }

  /** The identities of the model files the job recorded, by path (none before they were kept). */
  modelIdentities(jobId: number): Map<string, ModelIdentity> {
    return readModelIdentities(this.#db, jobId);
  }
}
