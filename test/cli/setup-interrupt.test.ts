import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findLlamaCppSource } from '../../src/setup/llama-cpp-cache.js';
import { startCliProcess } from '../helpers/run-cli-process.js';
import { makeTempDir } from '../servers/server-fixtures.js';

let temp: { dir: string; cleanup: () => void };
beforeEach(() => {
  temp = makeTempDir();
});
afterEach(() => temp.cleanup());

/** Whether `pid` still runs: a zombie (dead, not yet reaped) does not. */
function isRunning(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitForFile(path: string): Promise<string> {
  for (let i = 0; i < 500 && !existsSync(path); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  return readFileSync(path, 'utf8').trim();
}

describe('batch setup llama-server, interrupted (spawned: a real Ctrl-C)', () => {
  it('stops every process the build started, exits 130, and leaves nothing that looks built', async () => {
    const bin = join(temp.dir, 'bin');
    mkdirSync(bin);
    const pidFile = join(temp.dir, 'compiler.pid');
    // A `git` that starts a long child and waits on it, as make waits on a compiler.
    writeFileSync(join(bin, 'git'), `#!/bin/sh\nsleep 300 &\necho $! > '${pidFile}.tmp' && mv '${pidFile}.tmp' '${pidFile}'\nwait\n`);
    chmodSync(join(bin, 'git'), 0o755);
    const cacheDir = join(temp.dir, 'cache');
    const run = startCliProcess(['setup', 'llama-server', '--backend', 'cpu'], { env: { PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`, BATCH_LLAMA_CPP_DIR: cacheDir } });
    await run.waitFor('cloning');
    const compiler = Number(await waitForFile(pidFile));
    expect(isRunning(compiler)).toBe(true);
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toContain('was stopped while cloning the source; nothing was kept');
    expect(isRunning(compiler)).toBe(false);
    const { tag } = findLlamaCppSource()!;
    expect(readdirSync(join(cacheDir, tag))).toEqual(['build-cpu.log']);
  });
});
