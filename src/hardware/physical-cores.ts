import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * Physical CPU cores (not hyper-threads). llama.cpp runs slowest when it has more threads than
 * physical cores, so thread counts are capped by this. Linux: distinct (physical id, core id)
 * pairs in /proc/cpuinfo; elsewhere, or when that file says nothing, `os.availableParallelism()`.
 */
export function countPhysicalCores(): number {
  if (process.platform === 'linux') {
    const cores = countFromCpuinfo();
    if (cores > 0) return Math.max(1, Math.min(cores, os.availableParallelism()));
  }
  return Math.max(1, os.availableParallelism());
}

/** Distinct cores in a /proc/cpuinfo text; 0 when it carries no topology (some VMs, ARM). */
export function countCoresInCpuinfo(text: string): number {
  const pairs = new Set<string>();
  for (const block of text.split(/\n\s*\n/)) {
    const physical = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1];
    const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
    if (physical !== undefined && core !== undefined) pairs.add(`${physical}:${core}`);
  }
  return pairs.size;
}

function countFromCpuinfo(): number {
  try {
    return countCoresInCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return 0;
  }
}
