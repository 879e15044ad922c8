import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** How to wait for a lock another process holds. */
export interface BuildLockOptions {
  /** Told once, with the holder's pid, when the lock is held by another build. */
  readonly onWait?: (pid: number) => void;
  /** Aborting it stops waiting (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal;
  /** Time between looks at the lock while waiting. @default 2000 */
  readonly pollMs?: number;
}

/**
 * Takes the lock file `path` (created exclusively, holding this process's pid), waiting while a
 * live process holds it; a lock whose process is gone (killed, a restart) is taken over. Resolves
 * to the function that releases it. Two `batch setup llama-server` at once: the second waits for
 * the first instead of building the same thing beside it.
 */
export async function acquireBuildLock(path: string, options: BuildLockOptions = {}): Promise<() => void> {
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return () => {
        if (holderOf(path) === process.pid) rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = holderOf(path);
    if (holder !== undefined && !isAlive(holder)) {
      rmSync(path, { force: true });
      continue;
    }
    if (!told && holder !== undefined) {
      told = true;
      options.onWait?.(holder);
    }
    await sleep(options.pollMs ?? 2000, undefined, options.signal === undefined ? {} : { signal: options.signal });
  }
}

/** The pid a lock file names; undefined when it cannot be read or is being written. */
function holderOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
