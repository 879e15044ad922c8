import { readdirSync, readFileSync } from 'node:fs';

/** Pids of live processes whose command line contains `needle` (Linux /proc). */
export function pidsMatching(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (state !== 'Z' && cmdline.includes(needle) && Number(entry) !== process.pid) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/**
 * Waits (bounded) until no live process matches; returns the ones still alive at the end, each as
 * `pid (parent ppid): command line`, so that a failing test says which process was left.
 */
export async function waitForNoProcesses(needle: string, tries = 200): Promise<string[]> {
  for (let i = 0; i < tries; i++) {
    const left = pidsMatching(needle);
    if (left.length === 0) return [];
    await new Promise((r) => setTimeout(r, 50));
  }
  return pidsMatching(needle).map(describeProcess);
}

function describeProcess(pid: number): string {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    const ppid = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1];
    return `${pid} (parent ${ppid}): ${cmdline}`;
  } catch {
    return `${pid} (ended while described)`;
  }
}
