import { cliTestEnv } from './cli-test-env.js';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { OutputWaiters } from './output-waiters.js';
import { repoRoot } from './sim-process.js';

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRun {
  readonly child: ChildProcess;
  readonly done: Promise<CliResult>;
  /** Resolves once stdout+stderr contain `text`. */
  waitFor(text: string | RegExp): Promise<void>;
  output(): string;
}

/**
 * The CLIs started and not yet ended. A test that fails leaves its CLI running (a run whose
 * servers the test closed pauses for --max-down); the worker kills them when it exits, as its
 * timers (the per-CLI timeout) die with it.
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Spawns the built bin exactly as a user runs it: `node bin/batch.js ...args`. */
export function startCliProcess(
  args: readonly string[],
  options: {
    readonly cwd?: string;
    readonly env?: NodeJS.ProcessEnv;
    readonly input?: string;
    readonly timeoutMs?: number;
    /** Leave standard input open for the test to write (a slow producer); `input` is then ignored. */
    readonly openStdin?: boolean;
  } = {},
): CliRun {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/batch.js'), ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...cliTestEnv, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters = new OutputWaiters(() => stdout + stderr);
  const check = (): void => waiters.check();
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
    check();
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    check();
  });
  if (options.openStdin === true) child.stdin!.on('error', () => undefined);
  else if (options.input !== undefined) child.stdin!.end(options.input);
  else child.stdin!.end();
  const timeout = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  running.add(child);
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      running.delete(child);
      clearTimeout(timeout);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    done,
    output: () => stdout + stderr,
    waitFor: (text) => waiters.waitFor(text, done, () => 'the CLI exited'),
  };
}

/** Runs the bin to completion. */
export function runCliProcess(args: readonly string[], options?: Parameters<typeof startCliProcess>[1]): Promise<CliResult> {
  return startCliProcess(args, options).done;
}

/** Reads an output JSONL file into objects. */
export function parseJsonl(text: string): Array<Record<string, any>> {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, any>);
}

/** Whether a process is alive (signal 0 probes without killing). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
