/**
 * What the benchmark scripts share: spawning a process and timing it, the prompt file, tables,
 * and the `TARGET` line `npm run bench` collects into its summary.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { watchThreadCpu, type ThreadCpu } from './thread-cpu.js';

/** The repository root (these scripts run from `.build/bench/`). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The bin as a user runs it. */
export const batchBin = path.join(root, 'bin/batch.js');

/** Runs `node ...args` to its end; resolves with its wall time in milliseconds, rejects on a non-zero exit. */
export function timeProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return measureCommand(process.execPath, args, env, false).then((run) => run.ms);
}

/**
 * Runs `batch ...args` as a user's shell does, the bin itself (its /bin/sh line starts node with the
 * heap settings), to its end; resolves with its wall time in milliseconds.
 */
export function timeBatch(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return measureCommand(batchBin, args, env, false).then((run) => run.ms);
}

/** A process's wall time, and its CPU where /proc tells it (see thread-cpu.ts). */
export interface MeasuredRun {
  readonly ms: number;
  readonly cpu: ThreadCpu | undefined;
}

/** `node ...args`, measured. */
export function measureProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<MeasuredRun> {
  return measureCommand(process.execPath, args, env, true);
}

/** `batch ...args` as a user's shell runs it, measured. */
export function measureBatch(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<MeasuredRun> {
  return measureCommand(batchBin, args, env, true);
}

/** Runs `command` to its end; reads its threads' CPU only with `cpu` (the reading costs the machine a little CPU every 50 ms). */
function measureCommand(command: string, args: readonly string[], env: NodeJS.ProcessEnv, cpu: boolean): Promise<MeasuredRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    const watch = !cpu || child.pid === undefined ? undefined : watchThreadCpu(child.pid);
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => {
      const ms = performance.now() - started;
      const used = watch?.stop();
      if (code === 0) resolve({ ms, cpu: used });
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
    });
  });
}

/** `count` JSONL prompts `{id, prompt, max_tokens: 16}`, the file every side of a comparison reads. */
export function writePromptFile(file: string, count: number): void {
  writeFileSync(file, Array.from({ length: count }, (_, i) => JSON.stringify({ id: `p${i}`, prompt: `prompt ${i}`, max_tokens: 16 })).join('\n') + '\n');
}

/** Prints a Markdown table. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

/** One target of an issue, measured: what `npm run bench` prints side by side. */
export interface TargetLine {
  /** What is measured, e.g. "0 ms service: requests/s vs a bare node:http pool". */
  readonly target: string;
  /** batch's figure, with its unit. */
  readonly batch: string;
  /** The peer's figure, with its unit. */
  readonly peer: string;
  /** The comparison as measured, e.g. "0.93x". */
  readonly measured: string;
  /** The aim, e.g. ">= 0.9x". */
  readonly goal: string;
  readonly met: boolean;
}

/** Prints a target as one `TARGET {json}` line (collected by bench/run-all.ts and bench/coordinator.ts). */
export function printTarget(line: TargetLine): void {
  console.log(`TARGET ${JSON.stringify(line)}`);
}

/**
 * Runs one benchmark script to its end, showing its output as it comes, and collects the
 * `TARGET {json}` lines it prints.
 */
export function runCollectingTargets(command: string, args: readonly string[]): Promise<{ readonly code: number | null; readonly targets: TargetLine[] }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const targets: TargetLine[] = [];
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('TARGET ')) targets.push(JSON.parse(line.slice('TARGET '.length)) as TargetLine);
    });
    child.on('close', (code) => resolve({ code, targets }));
  });
}

/** A target as a row of the summary table that bench/run-all.ts and bench/coordinator.ts print. */
export function targetRow(t: TargetLine): string[] {
  return [t.target, t.batch, t.peer, t.measured, t.goal, t.met ? 'met' : 'not met'];
}

/** The header of that summary table. */
export const targetHeader = ['target', 'batch', 'peer', 'measured', 'goal', 'verdict'] as const;

/** The machine, for the header line of a table. */
export function machine(): string {
  const load = os.loadavg().map((n) => n.toFixed(2)).join(' ');
  return `node ${process.version}, ${os.cpus().length} CPUs, load average ${load}`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
