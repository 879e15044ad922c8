import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from src/test/bench sources and from their .build/ copies alike. */
export const repoRoot = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (path.basename(dir) !== 'test' && dir !== path.dirname(dir)) dir = path.dirname(dir);
  const parent = path.dirname(dir);
  return path.basename(parent) === '.build' ? path.dirname(parent) : parent;
})();

export interface SimProcess {
  readonly url: string;
  readonly child: ChildProcess;
  stats(): Promise<Record<string, any>>;
  close(): Promise<void>;
}

/**
 * Runs the simulated server in its own process (so its CPU is not the test's or the bench's),
 * from `.build/` (`npm test` builds it). It exits by itself if this process dies (stdin closes).
 */
export function startSimProcess(args: readonly string[]): Promise<SimProcess> {
  const main = path.join(repoRoot, '.build/test/sim/sim-server-main.js');
  const child = spawn(process.execPath, [main, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline === -1) return;
      child.stdout!.off('data', onData);
      const { url } = JSON.parse(buffered.slice(0, newline)) as { url: string };
      resolve({
        url,
        child,
        async stats() {
          const res = await fetch(`${url}/__sim/stats`);
          return (await res.json()) as Record<string, any>;
        },
        close() {
          return new Promise((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          });
        },
      });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`sim server exited with ${code} before listening`)));
  });
}
