import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { StoreError } from '../errors.js';
import { isProcessAlive } from './is-process-alive.js';
import type { LockOwner } from './store-records.js';

/**
 * The lock of a job database worked on from a node-local copy: a file `<db>.lock` beside the kept
 * database, made with O_EXCL (atomic on NFS v3 and later, and on the cluster filesystems). The
 * job's own lock is inside the database, so with every node working on a copy of its own it would
 * stop no one: this file does. Held by a live process, or by a process on another host that is not
 * the same scheduler task, it refuses with `JOB_LOCKED`; left by a dead process on this host, or by
 * an earlier run of the same scheduler task (requeued, on any node), it is taken over.
 */
export class KeptDatabaseLock {
  readonly #file: string;
  readonly #owner: LockOwner;

  private constructor(file: string, owner: LockOwner) {
    this.#file = file;
    this.#owner = owner;
  }

  /** Takes the lock of the kept database `db` for `owner`; the holder it took over from, if any, is returned too. */
  static acquire(db: string, owner: LockOwner): { readonly lock: KeptDatabaseLock; readonly tookOverFrom?: LockOwner } {
    const file = `${db}.lock`;
    const text = `${JSON.stringify({ ...owner, at: new Date().toISOString() })}\n`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        try {
          writeSync(fd, text);
        } finally {
          closeSync(fd);
        }
        return { lock: new KeptDatabaseLock(file, owner) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new StoreError('STORE_UNAVAILABLE', `cannot make the lock ${file} of the job database: ${(error as Error).message}; check that its folder is writable`, error);
        }
      }
      const holder = readHolder(file);
      if (holder !== undefined && !isGone(holder, owner)) {
        throw new StoreError(
          'JOB_LOCKED',
          `job database ${db} is being worked on by pid ${holder.pid} on host ${holder.host}${holder.task === undefined ? '' : ` (${holder.task})`} since ${holder.at ?? '?'}; wait for it to finish, or remove ${file} if that process is gone`,
        );
      }
      // Gone, or unreadable (a half-written file of a process killed while it made it): taken over.
      rmSync(file, { force: true });
      if (holder !== undefined) {
        const taken = KeptDatabaseLock.acquire(db, owner);
        return { lock: taken.lock, tookOverFrom: { pid: holder.pid, host: holder.host, ...(holder.task === undefined ? {} : { task: holder.task }) } };
      }
    }
    throw new StoreError('JOB_LOCKED', `job database ${db}: another process keeps taking its lock ${file}; wait for it to finish`);
  }

  /** Gives the lock up, unless another process took it over meanwhile. */
  release(): void {
    const holder = readHolder(this.#file);
    if (holder?.pid === this.#owner.pid && holder.host === this.#owner.host) rmSync(this.#file, { force: true });
  }
}

function readHolder(file: string): (LockOwner & { readonly at?: string }) | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown; host?: unknown; task?: unknown; at?: unknown };
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return undefined;
    return { pid: parsed.pid, host: parsed.host, ...(typeof parsed.task === 'string' ? { task: parsed.task } : {}), ...(typeof parsed.at === 'string' ? { at: parsed.at } : {}) };
  } catch {
    return undefined;
  }
}

function isGone(holder: LockOwner, owner: LockOwner): boolean {
  if (owner.task !== undefined && holder.task === owner.task) return true;
  return holder.host === owner.host && holder.pid !== owner.pid && !isProcessAlive(holder.pid);
}
