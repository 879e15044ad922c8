import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { buildLlamaServer, progressReporter } from '../../src/setup/build-llama-server.js';
import { findLlamaBuild, type LlamaCppSource } from '../../src/setup/llama-cpp-cache.js';
import type { CommandRunner, LoggedCommand } from '../../src/setup/run-logged-command.js';
import { makeTempDir } from '../servers/server-fixtures.js';

let temp: { dir: string; cleanup: () => void };
let cacheDir: string;
const source: LlamaCppSource = { tag: 'b1234', bundlePath: '/nm/node-llama-cpp/llama/gitRelease.bundle' };
beforeEach(() => {
  temp = makeTempDir();
  cacheDir = join(temp.dir, 'cache');
});
afterEach(() => temp.cleanup());

/** A stand-in for git and cmake: makes the folders and binaries they would, and records each command. */
function fakeBuild(options: { failAt?: 'compiling'; onCompile?: (command: LoggedCommand) => Promise<void>; makeBatchedBench?: boolean } = {}): { runner: CommandRunner; commands: string[][] } {
  const commands: string[][] = [];
  const runner: CommandRunner = async (command) => {
    commands.push([command.command, ...command.args]);
    const { args } = command;
    if (command.command === 'git') mkdirSync(args[args.length - 1]!, { recursive: true });
    else if (command.command === 'cmake' && args[0] === '-S') mkdirSync(args[3]!, { recursive: true });
    else if (command.command === 'cmake' && args[0] === '--build') {
      for (const line of ['[  5%] Building C object ggml.c.o', '[ 12%] Building CXX object llama.cpp.o', '[ 57%] Linking', 'warning: something', '[100%] Built target llama-server']) command.onLine(line);
      await options.onCompile?.(command);
      if (options.failAt === 'compiling') {
        command.onLine('llama.cpp:12: error: expected ; before }');
        throw new Error('cmake --build exited with code 2');
      }
      const bin = join(args[1]!, 'bin');
      mkdirSync(bin, { recursive: true });
      const targets = options.makeBatchedBench === false ? ['llama-server'] : ['llama-server', 'llama-batched-bench'];
      for (const name of [...targets, 'libllama.so']) writeFileSync(join(bin, name), '');
    } else if (command.command.endsWith('/bin/llama-server')) {
      command.onLine('version: 1 (abc123)');
      command.onLine('built with cc for x86_64-linux-gnu');
    }
  };
  return { runner, commands };
}

const base = { source, backend: 'cpu' as const, jobs: 2, now: () => new Date('2026-11-29T00:00:00Z') };

describe('buildLlamaServer', () => {
  it('clones the bundle, configures for the CPU, compiles both targets, and renames the checked binaries into <cache>/<tag>/cpu', async () => {
    const { runner, commands } = fakeBuild();
    const lines: string[] = [];
    const result = await buildLlamaServer({ ...base, cacheDir, runCommand: runner, log: (line) => lines.push(line) });
    const finalDir = join(cacheDir, 'b1234', 'cpu');
    expect(result).toMatchObject({ built: true, dir: finalDir, serverPath: join(finalDir, 'bin', 'llama-server'), batchedBenchPath: join(finalDir, 'bin', 'llama-batched-bench'), backend: 'cpu', tag: 'b1234' });
    const work = join(cacheDir, 'b1234', `cpu.tmp-${process.pid}`);
    expect(commands).toEqual([
      ['git', 'clone', '--quiet', source.bundlePath, join(work, 'src')],
      ['cmake', '-S', join(work, 'src'), '-B', join(work, 'build'), '-DCMAKE_BUILD_TYPE=Release', '-DLLAMA_CURL=OFF', '-DLLAMA_BUILD_TESTS=OFF', '-DLLAMA_BUILD_EXAMPLES=OFF', '-DCMAKE_BUILD_RPATH_USE_ORIGIN=ON'],
      ['cmake', '--build', join(work, 'build'), '--config', 'Release', '-j', '2', '--target', 'llama-server', 'llama-batched-bench'],
      [join(work, 'result', 'bin', 'llama-server'), '--version'],
    ]);
    expect(JSON.parse(readFileSync(join(finalDir, 'build.json'), 'utf8'))).toEqual({ tag: 'b1234', backend: 'cpu', builtAt: '2026-11-29T00:00:00.000Z', version: 'version: 1 (abc123)' });
    expect(readdirSync(join(cacheDir, 'b1234')).sort()).toEqual(['build-cpu.log', 'cpu']);
    expect(readFileSync(result.logPath, 'utf8')).toContain('warning: something');
    expect(lines.filter((line) => line.startsWith('  compiled'))).toEqual(['  compiled 10%', '  compiled 50%', '  compiled 100%']);
    expect(lines.at(-1)).toBe(`built llama-server b1234 (CPU): ${result.serverPath}`);
  });

  it('two builds at once: the second waits on the first one\'s lock (naming its pid), builds nothing, and returns the first one\'s build', async () => {
    let compileStarted!: () => void;
    const compiling = new Promise<void>((resolve) => (compileStarted = resolve));
    let finishCompile!: () => void;
    const held = new Promise<void>((resolve) => (finishCompile = resolve));
    const first = fakeBuild({ onCompile: async () => {
      compileStarted();
      await held;
    } });
    const firstBuild = buildLlamaServer({ ...base, cacheDir, runCommand: first.runner, log: () => undefined });
    await compiling;
    const lock = join(cacheDir, 'b1234', 'build-cpu.lock');
    expect(readFileSync(lock, 'utf8').trim()).toBe(String(process.pid));
    const second = fakeBuild();
    const lines: string[] = [];
    let waiting!: () => void;
    const told = new Promise<void>((resolve) => (waiting = resolve));
    const secondBuild = buildLlamaServer({
      ...base,
      cacheDir,
      runCommand: second.runner,
      lockPollMs: 5,
      log: (line) => {
        lines.push(line);
        if (line.includes('waiting for it')) waiting();
      },
    });
    await told;
    expect(lines).toEqual([`pid ${process.pid} is building llama-server b1234 (CPU) in ${join(cacheDir, 'b1234')}; waiting for it to finish (Ctrl-C stops waiting)`]);
    finishCompile();
    const [a, b] = await Promise.all([firstBuild, secondBuild]);
    expect(a.built).toBe(true);
    expect(b).toMatchObject({ built: false, serverPath: a.serverPath });
    expect(second.commands).toEqual([]);
    expect(existsSync(lock)).toBe(false);
  });

  it('takes over the lock of a build whose process is gone', async () => {
    mkdirSync(join(cacheDir, 'b1234'), { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(join(cacheDir, 'b1234', 'build-cpu.lock'), `${dead}\n`);
    const result = await buildLlamaServer({ ...base, cacheDir, runCommand: fakeBuild().runner, log: () => undefined, lockPollMs: 5 });
    expect(result.built).toBe(true);
    expect(existsSync(join(cacheDir, 'b1234', 'build-cpu.lock'))).toBe(false);
  });

  it('finds a finished build at once and runs nothing', async () => {
    await buildLlamaServer({ ...base, cacheDir, runCommand: fakeBuild().runner, log: () => undefined });
    const again = fakeBuild();
    let started = false;
    const result = await buildLlamaServer({ ...base, cacheDir, runCommand: again.runner, log: () => undefined, onStart: () => (started = true) });
    expect(result.built).toBe(false);
    expect(result.serverPath).toBe(join(cacheDir, 'b1234', 'cpu', 'bin', 'llama-server'));
    expect(again.commands).toEqual([]);
    expect(started).toBe(false);
  });

  it('configures CUDA with the nvcc found', async () => {
    const { runner, commands } = fakeBuild();
    const result = await buildLlamaServer({ ...base, backend: 'cuda', nvcc: '/usr/local/cuda/bin/nvcc', cacheDir, runCommand: runner, log: () => undefined });
    expect(commands[1]!.slice(-2)).toEqual(['-DGGML_CUDA=ON', '-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc']);
    expect(result.dir).toBe(join(cacheDir, 'b1234', 'cuda'));
  });

  it('a failed compile leaves no finished build and no work folder, names the log and its last lines, and the next call builds again', async () => {
    const error = await buildLlamaServer({ ...base, cacheDir, runCommand: fakeBuild({ failAt: 'compiling' }).runner, log: () => undefined }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppError);
    const message = (error as AppError).message;
    expect(message).toContain('building llama-server b1234 (CPU) failed while compiling: cmake --build exited with code 2');
    expect(message).toContain('  llama.cpp:12: error: expected ; before }');
    expect(message).toContain(`full output: ${join(cacheDir, 'b1234', 'build-cpu.log')}`);
    expect((error as AppError).code).toBe('LLAMA_SERVER_BUILD_FAILED');
    expect((error as AppError).exitCode).toBe(3);
    expect(findLlamaBuild(cacheDir, 'b1234', 'cpu')).toBeUndefined();
    expect(readdirSync(join(cacheDir, 'b1234'))).toEqual(['build-cpu.log']);
    const retry = await buildLlamaServer({ ...base, cacheDir, runCommand: fakeBuild().runner, log: () => undefined });
    expect(retry.built).toBe(true);
  });

  it('a build that made no llama-batched-bench is not finished', async () => {
    await expect(buildLlamaServer({ ...base, cacheDir, runCommand: fakeBuild({ makeBatchedBench: false }).runner, log: () => undefined })).rejects.toThrow('the build made no bin/llama-batched-bench');
    expect(findLlamaBuild(cacheDir, 'b1234', 'cpu')).toBeUndefined();
  });

  it('stopped while compiling: INTERRUPTED, the runner saw the abort, nothing kept', async () => {
    const controller = new AbortController();
    let runnerSignal: AbortSignal | undefined;
    const { runner } = fakeBuild({
      onCompile: async (command) => {
        runnerSignal = command.signal;
        controller.abort();
        throw new Error('cmake was stopped');
      },
    });
    const error = await buildLlamaServer({ ...base, cacheDir, runCommand: runner, log: () => undefined, signal: controller.signal }).catch((caught: unknown) => caught);
    expect((error as AppError).code).toBe('INTERRUPTED');
    expect((error as AppError).message).toContain('stopped while compiling');
    expect(runnerSignal?.aborted).toBe(true);
    expect(readdirSync(join(cacheDir, 'b1234'))).toEqual(['build-cpu.log']);
  });

  it('removes the work folder of a build whose process is gone, and keeps a live one', async () => {
    const tagDir = join(cacheDir, 'b1234');
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
    mkdirSync(join(tagDir, `cpu.tmp-${deadPid}`, 'src'), { recursive: true });
    mkdirSync(join(tagDir, `cuda.tmp-${process.ppid}`), { recursive: true });
    await buildLlamaServer({ ...base, cacheDir, runCommand: fakeBuild().runner, log: () => undefined });
    expect(existsSync(join(tagDir, `cpu.tmp-${deadPid}`))).toBe(false);
    expect(existsSync(join(tagDir, `cuda.tmp-${process.ppid}`))).toBe(true);
  });

  it('a folder without build.json is no build', () => {
    const dir = join(cacheDir, 'b1234', 'cpu', 'bin');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'llama-server'), '');
    chmodSync(join(dir, 'llama-server'), 0o755);
    expect(findLlamaBuild(cacheDir, 'b1234', 'cpu')).toBeUndefined();
  });
});

describe('progressReporter', () => {
  it("reports each 10% step once, from make's [ NN%] and ninja's [i/n] lines", () => {
    const seen: number[] = [];
    const report = progressReporter((percent) => seen.push(percent));
    for (const line of ['[  3%] a', '[ 10%] b', '[ 14%] c', 'noise [ 99%]', '[37/100] d', '[38/100] e', '[100%] f', '[100%] g']) report(line);
    expect(seen).toEqual([10, 30, 100]);
  });
});
