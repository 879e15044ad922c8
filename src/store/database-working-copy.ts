import { closeSync, copyFileSync, existsSync, fsyncSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { defaults } from '../defaults.js';
import { StoreError, UsageError } from '../errors.js';
import { makeFolder } from '../util/make-folder.js';
import { isProcessAlive } from './is-process-alive.js';
import { KeptDatabaseLock } from './kept-database-lock.js';
import type { LockOwner } from './store-records.js';
import { networkFilesystemOf } from './network-filesystem.js';

/** How a run keeps a job database that may sit on a network filesystem. */
export interface WorkingCopyOptions {
  /** The job database where it is kept (often a shared filesystem, so any node can resume it). */
  readonly db: string;
  /**
   * `auto`: work on a copy on node-local disk when the database is on a network filesystem;
   * `always`: whatever the filesystem; `never`: open it where it is.
   * @default 'auto'
   */
  readonly mode?: 'auto' | 'always' | 'never';
  /** The environment: `SLURM_TMPDIR`, then `TMPDIR`, name the node-local folder (else the system's). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How often the copy is written back while the run goes on, in milliseconds. @default 60000 */
  readonly copyEveryMs?: number;
  /** Asks which filesystem a path is on (tests). @default statfs(2) */
  readonly filesystemOf?: (file: string) => string | undefined;
  /** Who works on the copy: the kept database's lock file names it. @default this process, this host, no scheduler task */
  readonly owner?: LockOwner;
}

/**
 * A job database worked on where SQLite is safe. SQLite's WAL needs shared memory and locks that
 * network filesystems (NFS, Lustre, GPFS, CephFS …) do not give, so on one the run works on a copy on
 * node-local disk and writes it back whole, atomically (a complete file renamed over the old one),
 * every `copyEveryMs` and at the end. The kept file is always a consistent database, in rollback
 * mode, that any node can copy again: a task killed outright loses at most the answers since the
 * last copy, which its resume sends again.
 */
export class DatabaseWorkingCopy {
  /** The file to open: the copy on local disk, or the database itself when no copy is made. */
  readonly path: string;
  /** Why a copy is used (`NFS`), or undefined when the database is opened where it is. */
  readonly reason: string | undefined;
  readonly #db: string;
  readonly #folder: string | undefined;
  readonly #lock: KeptDatabaseLock | undefined;
  /** Set when the kept database's lock was taken over from a process that is gone. */
  readonly tookOverFrom: LockOwner | undefined;
  /** How often the copy is written back, in milliseconds. */
  readonly copyEveryMs: number;
  #timer: NodeJS.Timeout | undefined;
  #copying: Promise<void> | undefined;

  private constructor(db: string, local: string | undefined, reason: string | undefined, copyEveryMs: number, lock?: { readonly lock: KeptDatabaseLock; readonly tookOverFrom?: LockOwner }) {
    this.#db = db;
    this.#lock = lock?.lock;
    this.tookOverFrom = lock?.tookOverFrom;
    this.#folder = local === undefined ? undefined : path.dirname(local);
    this.path = local ?? db;
    this.reason = reason;
    this.copyEveryMs = copyEveryMs;
  }

  /** Decides where the run works and, for a copy, copies the kept database (and its WAL, if any) there. */
  static open(options: WorkingCopyOptions): DatabaseWorkingCopy {
    const db = path.resolve(options.db);
    const filesystemOf = options.filesystemOf ?? ((file: string) => networkFilesystemOf(file));
    const mode = options.mode ?? defaults.localCopy;
    const network = mode === 'never' ? undefined : filesystemOf(db);
    const copyEveryMs = options.copyEveryMs ?? defaults.localCopyEveryMs;
    if (mode === 'never' || (mode === 'auto' && network === undefined)) return new DatabaseWorkingCopy(db, undefined, undefined, copyEveryMs);
    const base = options.env.SLURM_TMPDIR || options.env.TMPDIR || os.tmpdir();
    const localNetwork = filesystemOf(path.join(base, 'x'));
    if (localNetwork !== undefined) {
      throw new UsageError(`the job database ${db} is to be worked on from node-local disk, but ${base} is on ${localNetwork} too; set TMPDIR to a folder on a local disk (such as /tmp or $SLURM_TMPDIR)`);
    }
    makeFolder(base);
    removeAbandonedCopies(base);
    makeFolder(path.dirname(db));
    const lock = KeptDatabaseLock.acquire(db, options.owner ?? { pid: process.pid, host: os.hostname() });
    const folder = mkdtempSync(path.join(base, `batch-db-${process.pid}-`));
    const local = path.join(folder, path.basename(db));
    try {
      if (existsSync(db)) {
        copyFileSync(db, local);
        if (existsSync(`${db}-wal`) && statSync(`${db}-wal`).size > 0) copyFileSync(`${db}-wal`, `${local}-wal`);
      }
    } catch (error) {
      rmSync(folder, { recursive: true, force: true });
      lock.lock.release();
      throw new StoreError('STORE_UNAVAILABLE', `cannot copy the job database ${db} to ${folder}: ${(error as Error).message}; check both paths, or pass --local-copy never`, error);
    }
    return new DatabaseWorkingCopy(db, local, network ?? 'asked for', copyEveryMs, lock);
  }

  /** Whether the run works on a copy. */
  get isCopy(): boolean {
    return this.#folder !== undefined;
  }

  /** Writes the copy back every `copyEveryMs` until `close`; a failure is passed to `onError` and tried again next time. */
  startCopying(onError: (error: StoreError) => void): void {
    if (!this.isCopy || this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.copyBack().catch((error: unknown) => onError(error as StoreError));
    }, this.copyEveryMs);
    this.#timer.unref();
  }

  /**
   * Writes the copy back: a consistent snapshot (`VACUUM INTO`, beside the writers), in rollback
   * mode, copied beside the kept file and renamed over it.
   */
  copyBack(): Promise<void> {
    if (!this.isCopy || !existsSync(this.path)) return Promise.resolve();
    const previous = this.#copying ?? Promise.resolve();
    this.#copying = previous.catch(() => undefined).then(() => this.#copyBackNow());
    return this.#copying;
  }

  /** Stops the copying, writes the copy back a last time (unless the run removed the database) and removes it. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (!this.isCopy) return;
    try {
      await this.copyBack();
    } finally {
      rmSync(this.#folder as string, { recursive: true, force: true });
      this.#lock?.release();
    }
  }

  #copyBackNow(): void {
    if (!existsSync(this.path)) return;
    const snapshot = `${this.path}.snapshot`;
    const beside = `${this.#db}.copy-${process.pid}.tmp`;
    try {
      // One statement in one read transaction: a consistent snapshot however busy the writers are
      // (an online backup in steps starts again whenever another connection writes).
      rmSync(snapshot, { force: true });
      const source = new Database(this.path, { readonly: true, fileMustExist: true });
      try {
        source.prepare('VACUUM INTO ?').run(snapshot);
      } finally {
        source.close();
      }
      const plain = new Database(snapshot);
      try {
        plain.pragma('journal_mode = DELETE');
      } finally {
        plain.close();
      }
      makeFolder(path.dirname(this.#db));
      copyFileSync(snapshot, beside);
      const fd = openSync(beside, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(beside, this.#db);
    } catch (error) {
      rmSync(beside, { force: true });
      throw new StoreError('STORE_WRITE_FAILED', `cannot write the job database back to ${this.#db}: ${(error as Error).message}; the run goes on with its copy in ${this.#folder}, and tries again`, error);
    } finally {
      rmSync(snapshot, { force: true });
    }
  }
}

/** Copies left in `base` by runs killed outright (their pid is gone): the kept database has what they wrote back. */
function removeAbandonedCopies(base: string): void {
  for (const name of readdirSync(base)) {
    const pid = /^batch-db-(\d+)-/.exec(name)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !isProcessAlive(Number(pid))) rmSync(path.join(base, name), { recursive: true, force: true });
  }
}
