import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../../src/backends/backend.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const DIST_SERVERS = fileURLToPath(new URL('../../dist/servers/', import.meta.url));
/** The project's simulated llama-server (needs `npx tsc -p tsconfig.tools.json`). */
export const SIM_LLAMA_SERVER = fileURLToPath(new URL('../sim/bin/llama-server', import.meta.url));

/** A temp folder, removed by the returned cleanup. */
export function makeTempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'batch-servers-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * An executable `llama-server` stand-in in `dir` running fixtures/fake-llama-server.mjs, for the
 * failures the project's simulator does not script: SIM_FAIL=1 (exit 1 while loading) and
 * SIM_IGNORE_SIGTERM=1. It also takes SIM_LOAD_MS and SIM_START_LOG.
 */
export function writeFakeLlamaServer(dir: string, env: Readonly<Record<string, string>> = {}, name = 'llama-server'): string {
  const path = join(dir, name);
  const exports = Object.entries(env).map(([key, value]) => `export ${key}='${value}'\n`).join('');
  writeFileSync(path, `#!/bin/sh\n${exports}exec '${process.execPath}' '${join(FIXTURES, 'fake-llama-server.mjs')}' "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/**
 * An executable in `dir` that runs the project's simulated llama-server (test/sim) with these
 * SIM_* settings (SIM_LOAD_MS, SIM_START_LOG, SIM_SERVICE_MS).
 */
export function writeSimLlamaServer(dir: string, env: Readonly<Record<string, string>> = {}, name = 'llama-server'): string {
  const path = join(dir, name);
  const exports = Object.entries({ PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, ...env })
    .map(([key, value]) => `export ${key}='${value}'\n`)
    .join('');
  writeFileSync(path, `#!/bin/sh\n${exports}exec '${SIM_LLAMA_SERVER}' "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A small file standing in for a GGUF model (the fake server only checks that it exists). */
export function writeFakeModel(dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, 'GGUF');
  return path;
}

export interface StartRecord {
  readonly pid: number;
  readonly model: string;
  readonly port: number;
}

export function readStartLog(path: string): StartRecord[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as StartRecord);
}

/** Whether `pid` runs; a zombie (dead, not yet reaped) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // Field 3 of /proc/<pid>/stat is the state; the name before it is in parentheses.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return true;
  }
}

/**
 * Resolves true once `pid` is gone, false if it still runs after `timeoutMs`. Polling: a process
 * that is not our child gives no event to await.
 */
export async function waitUntilGone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return !isAlive(pid);
}

/** A Backend that records its URL and whether it was closed. */
export function recordingBackend(url: string): Backend & { closed: boolean } {
  const backend = {
    type: 'llama-server' as const,
    url,
    closed: false,
    complete: () => Promise.reject(new Error('not used in these tests')),
    describe: () => Promise.resolve({ type: 'llama-server' as const, models: [] }),
    health: () => Promise.resolve('ok' as const),
    close: () => {
      backend.closed = true;
      return Promise.resolve();
    },
  };
  return backend;
}
