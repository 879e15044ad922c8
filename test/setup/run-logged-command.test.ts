import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runLoggedCommand } from '../../src/setup/run-logged-command.js';
import { pollUntil } from '../helpers/poll-until.js';

/** Whether `pid` still runs: a zombie (dead, waiting for a reaper that may not reap) does not. */
function isRunning(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('runLoggedCommand', () => {
  it('passes on stdout and stderr line by line, and rejects naming the exit code', async () => {
    const lines: string[] = [];
    await expect(runLoggedCommand({ command: 'sh', args: ['-c', 'echo out; echo err >&2; exit 3'], onLine: (line) => lines.push(line) })).rejects.toThrow('exited with code 3');
    expect(lines.sort()).toEqual(['err', 'out']);
    await expect(runLoggedCommand({ command: 'sh', args: ['-c', 'exit 0'], onLine: () => undefined })).resolves.toBeUndefined();
  });

  it('rejects a command that cannot start, naming it', async () => {
    await expect(runLoggedCommand({ command: '/nonexistent/cmake', args: [], onLine: () => undefined })).rejects.toThrow('could not start /nonexistent/cmake');
  });

  it('stops the command and what it started (a compiler under make) when the signal aborts', async () => {
    const controller = new AbortController();
    let grandchild = 0;
    const run = runLoggedCommand({
      command: 'sh',
      // The shell starts a long child and waits, as make waits on a compiler.
      args: ['-c', 'sleep 300 & echo "child $!"; wait'],
      onLine: (line) => {
        const match = /^child (\d+)$/.exec(line);
        if (match) {
          grandchild = Number(match[1]);
          controller.abort();
        }
      },
      signal: controller.signal,
    });
    await expect(run).rejects.toThrow('sh was stopped');
    expect(grandchild).toBeGreaterThan(0);
    // The kernel delivers the group's signal asynchronously: the child may take a moment to die
    // after its parent did (bounded: it is gone within 2 s, or this fails).
    await pollUntil(() => !isRunning(grandchild), `the grandchild ${grandchild} to stop`, 200);
    expect(isRunning(grandchild)).toBe(false);
  });
});
