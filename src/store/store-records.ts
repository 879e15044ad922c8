/**
 * Where a job stands. `running` while a process holds it, `interrupted` after Ctrl-C or a crash
 * (resumable), `done` when every item succeeded, `failed` when it finished with failed items.
 */
export type JobState = 'running' | 'interrupted' | 'done' | 'failed';

/** Where an item stands. `running` only while a request for it is in flight. */
export type ItemStatus = 'pending' | 'running' | 'done' | 'failed';

/** A job as stored. */
export interface JobRecord {
  readonly id: number;
  readonly name: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /** The run configuration the job was created with, secrets removed. */
  readonly config: Readonly<Record<string, unknown>>;
  /**
   * Fingerprint of the job's inputs: `batch run` records a hash of their paths when it creates
   * the job, and `sha256:<hex>` of their content (`InputContentHash`) once it read them whole.
   */
  readonly inputFingerprint: string;
  readonly state: JobState;
  /**
   * Whether the job holds all of its inputs: false after a run that stopped (or died) while it
   * was still reading them, so that the next run or resume reads them again.
   */
  readonly inputsRead: boolean;
  /** Whether `openJob` created it just now. */
  readonly isNew: boolean;
}

/** What `openJob` needs to create a job. */
export interface OpenJobOptions {
  readonly name: string;
  /** Run configuration (models, endpoints, limits). Pass it without secrets; keys named like credentials are scrubbed again anyway. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly inputFingerprint: string;
}

/** One line of `batch jobs`. */
export interface JobSummary {
  readonly name: string;
  /** The stored state, except that `running` with a dead owner on this host reads `interrupted`. */
  readonly state: JobState;
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  readonly pending: number;
  /** First run's start, else the job's creation (epoch ms). */
  readonly startedAt: number;
  /** Latest of: job update, item finished, run end (epoch ms). */
  readonly lastActivityAt: number;
}

/** Items per status. `pending` includes duplicates waiting for their primary. */
export interface StatusCounts {
  readonly pending: number;
  readonly running: number;
  readonly done: number;
  readonly failed: number;
  readonly total: number;
}

/** The owner of a job lock. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /**
   * The scheduler task this process runs as (`slurm:1234_5`, `k8s:night-shard:2`): the same task
   * started again (requeued, on any node) takes over a lock its earlier run left, since a scheduler
   * runs one task once at a time.
   */
  readonly task?: string;
}

/** What `acquireLock` did. */
export interface AcquireLockResult {
  /** Set when the lock belonged to a process that no longer exists on this host. */
  readonly tookOverFrom?: LockOwner;
}

/** What `startRun` records about the process. */
export interface StartRunOptions extends LockOwner {
  /** The command line; values of credential flags are scrubbed before storing. */
  readonly argv: readonly string[];
}

/** Which pending items `pendingItems` yields. */
export interface PendingItemsOptions {
  /** The `body.model` to match; `null` for items without one. */
  readonly model: string | null;
  /**
   * Rows read per query. Pages are read lazily, so memory stays bounded by this.
   * @default 500
   */
  readonly pageSize?: number;
  /** Custom ids to skip (for example those already in flight). */
  readonly excludeIds?: ReadonlySet<string>;
  /** Only items after this input position (a reader opened again after the last one ended). @default -1 */
  readonly afterIndex?: number;
}

/** Pending work for one model. */
export interface PendingModel {
  readonly model: string | null;
  readonly pending: number;
  /** The highest priority among its pending prompts. */
  readonly priority: number;
}

/** Which finished items `finishedItems` yields. */
export interface FinishedItemsOptions {
  /** Only failed items. @default false */
  readonly failedOnly?: boolean;
  /** Rows read per query. @default 500 */
  readonly pageSize?: number;
}

/** An item taken out of its job because its line is no longer in the job's inputs. */
export interface SupersededItem {
  readonly customId: string;
  /** Where it was read from (`file:line`), when it was last in the inputs. */
  readonly source: string;
  /** Its status when it left. */
  readonly status: 'pending' | 'done' | 'failed';
  /** Epoch milliseconds. */
  readonly supersededAt: number;
}
