import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { setupCommand } from '../../src/cli/commands/setup.js';
import { findLlamaCppSource } from '../../src/setup/llama-cpp-cache.js';
import type { CommandRunner } from '../../src/setup/run-logged-command.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { makeTempDir } from '../servers/server-fixtures.js';

let temp: { dir: string; cleanup: () => void };
beforeEach(() => {
  temp = makeTempDir();
});
afterEach(() => temp.cleanup());

describe('batch setup llama-server', () => {
  it('prints a finished build at once: its path on stdout, where it is on stderr', async () => {
    const { tag } = findLlamaCppSource()!;
    const dir = join(temp.dir, 'cache', tag, 'cpu');
    mkdirSync(join(dir, 'bin'), { recursive: true });
    writeFileSync(join(dir, 'bin', 'llama-server'), '#!/bin/sh\n');
    chmodSync(join(dir, 'bin', 'llama-server'), 0o755);
    writeFileSync(join(dir, 'build.json'), JSON.stringify({ tag, backend: 'cpu', builtAt: '', version: '' }));
    const result = await runCliInProcess(['setup', 'llama-server', '--backend', 'cpu'], { env: { BATCH_LLAMA_CPP_DIR: join(temp.dir, 'cache') } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${join(dir, 'bin', 'llama-server')}\n`);
    expect(result.stderr).toContain(`llama-server ${tag} (CPU) is already built in ${dir}`);
  });

  it('refuses anything but llama-server, with exit 2', async () => {
    const result = await runCliInProcess(['setup', 'ollama'], { env: { BATCH_LLAMA_CPP_DIR: join(temp.dir, 'cache') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('batch setup ollama: expected one of llama-server, got "ollama"');
  });

  it('builds with the backend it chose and says why, progress on stderr and the path on stdout', async () => {
    const ran: string[] = [];
    const runner: CommandRunner = async ({ command, args }) => {
      ran.push(command);
      if (command === 'cmake' && args[0] === '--build') {
        mkdirSync(join(args[1]!, 'bin'), { recursive: true });
        for (const name of ['llama-server', 'llama-batched-bench']) writeFileSync(join(args[1]!, 'bin', name), '');
      }
    };
    let stdout = '';
    let stderr = '';
    const sink = (append: (text: string) => void): PassThrough => new PassThrough().on('data', (chunk: Buffer) => append(chunk.toString()));
    const io: CliIo = {
      stdout: sink((text) => (stdout += text)),
      stderr: sink((text) => (stderr += text)),
      stdin: Readable.from([]),
      env: { BATCH_LLAMA_CPP_DIR: join(temp.dir, 'cache') },
      cwd: temp.dir,
      isTTY: false,
      softStop: new AbortController().signal,
      hardStop: new AbortController().signal,
    };
    const code = await setupCommand({ target: 'llama-server', runCommand: runner, cudaProbe: { nvcc: '/cuda/nvcc', gpu: false }, source: { tag: 'b7', bundlePath: '/b.bundle' } }, io);
    expect(code).toBe(0);
    expect(ran).toEqual(['git', 'cmake', 'cmake', join(temp.dir, 'cache', 'b7', 'cpu.tmp-' + process.pid, 'result', 'bin', 'llama-server')]);
    expect(stdout).toBe(`${join(temp.dir, 'cache', 'b7', 'cpu', 'bin', 'llama-server')}\n`);
    expect(stderr).toContain('backend: CPU: the CUDA toolkit is here (/cuda/nvcc) but no NVIDIA GPU is');
    expect(stderr).toContain('building llama-server b7 (CPU');
  });
});
