import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const EMBEDDED_MAIN = resolve('dist/embedded/embedded-server-main.js');

export interface EmbeddedProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves with the next JSON line on stdout (rejects if the process exits first or after `timeoutMs`). */
  nextEvent(timeoutMs?: number): Promise<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Spawns the built embedded server with stdin as a pipe (its parent-death signal), capped at one thread. */
export function spawnEmbedded(args: readonly string[]): EmbeddedProcess {
  if (!existsSync(EMBEDDED_MAIN)) throw new Error(`${EMBEDDED_MAIN} is missing: run \`npx tsc -p tsconfig.json\` first`);
  const child = spawn(process.execPath, [EMBEDDED_MAIN, '--threads', '1', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let ended = false;
  createInterface({ input: child.stdout })
    .on('line', (line) => {
      lines.push(line);
      waiters.shift()?.();
    })
    .on('close', () => {
      ended = true;
      for (const waiter of waiters.splice(0)) waiter();
    });
  return {
    child,
    exited,
    stderr: () => stderr,
    async nextEvent(timeoutMs = 30_000) {
      if (lines.length === 0 && !ended) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((done) => waiters.push(done)),
          new Promise<void>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no event from the embedded server within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
          }),
        ]).finally(() => clearTimeout(timer));
      }
      const line = lines.shift();
      if (line === undefined) throw new Error(`the embedded server exited without another event; stderr: ${stderr}`);
      return JSON.parse(line) as Record<string, unknown>;
    },
  };
}

/** Ends a spawned server if a test left it running. */
export async function stopEmbedded(server: EmbeddedProcess | undefined): Promise<void> {
  if (server === undefined || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGKILL');
  await server.exited;
}
