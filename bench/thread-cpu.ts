/**
 * CPU time of a spawned process, its main thread apart from the rest (the writer thread, V8's
 * GC and compiler helpers, libuv's pool), read from Linux's /proc/<pid>/task every 50 ms while it
 * runs: the last reading before it exits is what it used, less at most 50 ms of its exit. Where
 * /proc is missing (not Linux), nothing is read.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ThreadCpu {
  /** CPU milliseconds of the process's main thread (its event loop). */
  readonly mainMs: number;
  /** CPU milliseconds of all its threads together. */
  readonly allMs: number;
}

const ticksPerSecond = 100;

/** utime + stime of one /proc stat line, in milliseconds. */
function cpuMsOf(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1000;
}

/** Watches `pid` until `stop()`, which returns its CPU so far (undefined without /proc). */
export function watchThreadCpu(pid: number): { stop(): ThreadCpu | undefined } {
  const threads = new Map<string, number>();
  let readable = true;
  const read = (): void => {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
          threads.set(tid, cpuMsOf(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
        } catch {
          // The thread ended between the listing and the read: its last reading stands.
        }
      }
    } catch {
      if (threads.size === 0) readable = false;
    }
  };
  read();
  const timer = setInterval(read, 50);
  return {
    stop: () => {
      clearInterval(timer);
      if (!readable || threads.size === 0) return undefined;
      let allMs = 0;
      for (const ms of threads.values()) allMs += ms;
      return { mainMs: threads.get(String(pid)) ?? 0, allMs };
    },
  };
}
