import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import {
  buildRecordName,
  findLlamaBuild,
  llamaBuildDir,
  type BuiltLlamaServer,
  type LlamaBuildBackend,
  type LlamaBuildRecord,
  type LlamaCppSource,
} from './llama-cpp-cache.js';
import { acquireBuildLock, isAlive } from './build-lock.js';
import { runLoggedCommand, type CommandRunner } from './run-logged-command.js';
import { makeFolder } from '../util/make-folder.js';

/** The binaries a build makes: the server, and the engine's own benchmark beside it. */
export const llamaBuildTargets = ['llama-server', 'llama-batched-bench'] as const;

export interface BuildLlamaServerOptions {
  /** The llama.cpp source bundled with node-llama-cpp (see `findLlamaCppSource`). */
  readonly source: LlamaCppSource;
  /** The cache root (see `llamaCppCacheDir`); the build ends in `<cacheDir>/<tag>/<backend>`. */
  readonly cacheDir: string;
  readonly backend: LlamaBuildBackend;
  /** With `backend: 'cuda'`: the `nvcc` to use. */
  readonly nvcc?: string;
  /** Compile jobs at once (`cmake --build -j`). */
  readonly jobs: number;
  /** Receives progress lines for the user (steps, every 10% of the compile). */
  readonly log: (line: string) => void;
  /** Aborting it stops the build and every process it started; nothing is left that looks finished. */
  readonly signal?: AbortSignal;
  /** Called once when a build really starts (not when the cache already holds it). */
  readonly onStart?: () => void;
  /** Runs each command; tests pass a fake. @default runLoggedCommand */
  readonly runCommand?: CommandRunner;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Time between looks at another build's lock while waiting for it. @default 2000 */
  readonly lockPollMs?: number;
}

/** A build in the cache, and whether this call made it. */
export interface BuildLlamaServerResult extends BuiltLlamaServer {
  /** false: the build was already in the cache and nothing ran. */
  readonly built: boolean;
  /** The build's full output (cmake, the compilers). */
  readonly logPath: string;
}

/**
 * Builds llama-server and llama-batched-bench from node-llama-cpp's bundled llama.cpp source into
 * the cache, or returns the build already there at once. The build runs in a folder of its own
 * (`<backend>.tmp-<pid>`) and is renamed into place only after its binary has run from there and
 * its `build.json` is written, so a failed, interrupted or half-done build never looks finished.
 */
export async function buildLlamaServer(options: BuildLlamaServerOptions): Promise<BuildLlamaServerResult> {
  const { source, cacheDir, backend, log, signal } = options;
  const finalDir = llamaBuildDir(cacheDir, source.tag, backend);
  const tagDir = join(finalDir, '..');
  const logPath = join(tagDir, `build-${backend}.log`);
  const existing = findLlamaBuild(cacheDir, source.tag, backend);
  if (existing !== undefined) return { ...existing, built: false, logPath };

  try {
    makeFolder(tagDir);
  } catch (error) {
    throw new AppError('LLAMA_SERVER_BUILD_FAILED', `${(error as Error).message}; the build goes to ${cacheDir} (BATCH_LLAMA_CPP_DIR, else XDG_CACHE_HOME or ~/.cache): point BATCH_LLAMA_CPP_DIR at a folder you can create and write`, { cause: error });
  }
  // One build of a tag and backend at a time: a second `batch setup` waits, then finds it built.
  const release = await acquireBuildLock(join(tagDir, `build-${backend}.lock`), {
    signal,
    pollMs: options.lockPollMs,
    onWait: (pid) => log(`pid ${pid} is building llama-server ${source.tag} (${backend === 'cuda' ? 'CUDA' : 'CPU'}) in ${tagDir}; waiting for it to finish (Ctrl-C stops waiting)`),
  }).catch((error: unknown) => {
    if (signal?.aborted) throw new AppError('INTERRUPTED', `stopped waiting for another build of llama-server ${source.tag}; nothing was built here`, { cause: error });
    throw error;
  });
  try {
    const finished = findLlamaBuild(cacheDir, source.tag, backend);
    if (finished !== undefined) return { ...finished, built: false, logPath };
    return await buildLocked(options, tagDir, logPath);
  } finally {
    release();
  }
}

/** The build itself, with the lock held. */
async function buildLocked(options: BuildLlamaServerOptions, tagDir: string, logPath: string): Promise<BuildLlamaServerResult> {
  const { source, cacheDir, backend, log } = options;
  const finalDir = llamaBuildDir(cacheDir, source.tag, backend);
  removeAbandonedBuilds(tagDir);
  const workDir = join(tagDir, `${backend}.tmp-${process.pid}`);
  rmSync(workDir, { recursive: true, force: true });
  makeFolder(workDir);
  const logFd = openSync(logPath, 'w');
  const steps = new BuildSteps(logFd, options.runCommand ?? runLoggedCommand, options.signal);
  try {
    options.onStart?.();
    log(`building llama-server ${source.tag} (${labelOf(backend)}, ${options.jobs} jobs) in ${workDir}; full output in ${logPath}`);
    const binDir = await compile(options, workDir, steps);
    return await install(options, { binDir, workDir, finalDir, logPath }, steps);
  } catch (error) {
    throw buildFailure(error, options, steps.current, logPath);
  } finally {
    closeSync(logFd);
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** The commands of a build, each written to the build's log, and the one under way (for the error). */
class BuildSteps {
  readonly #logFd: number;
  readonly #runCommand: CommandRunner;
  readonly #signal: AbortSignal | undefined;
  current = 'cloning the source';

  constructor(logFd: number, runCommand: CommandRunner, signal: AbortSignal | undefined) {
    this.#logFd = logFd;
    this.#runCommand = runCommand;
    this.#signal = signal;
  }

  /** Appends one line to the build's log. */
  write(line: string): void {
    writeSync(this.#logFd, `${line}\n`);
  }

  async run(name: string, command: string, args: readonly string[], onLine: (line: string) => void = (line) => this.write(line)): Promise<void> {
    this.current = name;
    this.write(`$ ${command} ${args.join(' ')}`);
    await this.#runCommand({ command, args, onLine, signal: this.#signal });
  }
}

/** Clones the bundled source, configures and compiles it in `workDir`; returns the folder of the binaries. */
async function compile(options: BuildLlamaServerOptions, workDir: string, steps: BuildSteps): Promise<string> {
  const { source, backend, log } = options;
  const srcDir = join(workDir, 'src');
  const buildDir = join(workDir, 'build');
  log(`  cloning ${source.bundlePath}`);
  await steps.run('cloning the source', 'git', ['clone', '--quiet', source.bundlePath, srcDir]);
  log('  configuring (cmake)');
  await steps.run('configuring', 'cmake', configureArgs(srcDir, buildDir, backend, options.nvcc));
  log(`  compiling (${backend === 'cuda' ? 'a CUDA build takes an hour or more' : 'about 20 minutes on 2 cores'})`);
  const progress = progressReporter((percent) => log(`  compiled ${percent}%`));
  await steps.run('compiling', 'cmake', ['--build', buildDir, '--config', 'Release', '-j', String(options.jobs), '--target', ...llamaBuildTargets], (line) => {
    steps.write(line);
    progress(line);
  });
  return join(buildDir, 'bin');
}

/**
 * Moves the binaries into `<workDir>/result`, runs the server from there, writes `build.json` and
 * renames the result into the cache: only then does the build look finished.
 */
async function install(
  options: BuildLlamaServerOptions,
  dirs: { readonly binDir: string; readonly workDir: string; readonly finalDir: string; readonly logPath: string },
  steps: BuildSteps,
): Promise<BuildLlamaServerResult> {
  const { source, cacheDir, backend, log } = options;
  const { finalDir, logPath } = dirs;
  const resultDir = join(dirs.workDir, 'result');
  mkdirSync(resultDir);
  // Only bin/ is kept (binaries and their shared libraries, found through $ORIGIN); sources and objects go.
  renameSync(dirs.binDir, join(resultDir, 'bin'));
  for (const target of llamaBuildTargets) {
    if (!existsSync(join(resultDir, 'bin', target))) throw new Error(`the build made no bin/${target}`);
  }
  const versionLines: string[] = [];
  // Run from its final folder's copy: a binary that finds its libraries only in the build tree fails here, not later.
  await steps.run('checking the binary', join(resultDir, 'bin', 'llama-server'), ['--version'], (line) => {
    steps.write(line);
    versionLines.push(line);
  });
  const record: LlamaBuildRecord = {
    tag: source.tag,
    backend,
    builtAt: (options.now ?? (() => new Date()))().toISOString(),
    version: versionLines.find((line) => /version/i.test(line)) ?? versionLines[0] ?? '',
  };
  writeFileSync(join(resultDir, buildRecordName), `${JSON.stringify(record, null, 2)}\n`);
  // Another `batch setup` may have finished first: its build is as good, and may be in use.
  const raced = findLlamaBuild(cacheDir, source.tag, backend);
  if (raced !== undefined) return { ...raced, built: false, logPath };
  rmSync(finalDir, { recursive: true, force: true });
  renameSync(resultDir, finalDir);
  log(`built llama-server ${source.tag} (${labelOf(backend)}): ${join(finalDir, 'bin', 'llama-server')}`);
  const built = findLlamaBuild(cacheDir, source.tag, backend);
  if (built === undefined) throw new Error(`${finalDir} holds no finished build after the rename`);
  return { ...built, built: true, logPath };
}

/** What a failed or stopped build throws: which step, the log's tail, and how to try again. */
function buildFailure(error: unknown, options: BuildLlamaServerOptions, step: string, logPath: string): AppError {
  const { source, backend } = options;
  if (options.signal?.aborted) {
    return new AppError('INTERRUPTED', `building llama-server ${source.tag} was stopped while ${step}; nothing was kept: run \`batch setup llama-server\` again to build it`, { cause: error });
  }
  return new AppError(
    'LLAMA_SERVER_BUILD_FAILED',
    `building llama-server ${source.tag} (${labelOf(backend)}) failed while ${step}: ${error instanceof Error ? error.message : String(error)}` +
      `${describeLogTail(logPath)}\nfull output: ${logPath}; it needs git, cmake and a C++ compiler${backend === 'cuda' ? ' (and the CUDA toolkit; --backend cpu builds without it)' : ''}; fix the cause and run \`batch setup llama-server\` again`,
    { cause: error },
  );
}

function labelOf(backend: LlamaBuildBackend): string {
  return backend === 'cuda' ? 'CUDA' : 'CPU';
}

/** cmake's configure arguments: release, no network code, no tests or examples; CUDA when asked. */
export function configureArgs(srcDir: string, buildDir: string, backend: LlamaBuildBackend, nvcc?: string): string[] {
  const args = [
    '-S', srcDir,
    '-B', buildDir,
    '-DCMAKE_BUILD_TYPE=Release',
    '-DLLAMA_CURL=OFF',
    '-DLLAMA_BUILD_TESTS=OFF',
    '-DLLAMA_BUILD_EXAMPLES=OFF',
    // The binaries find their shared libraries beside them ($ORIGIN), so bin/ can move into the cache.
    '-DCMAKE_BUILD_RPATH_USE_ORIGIN=ON',
  ];
  if (backend === 'cuda') {
    args.push('-DGGML_CUDA=ON');
    if (nvcc !== undefined) args.push(`-DCMAKE_CUDA_COMPILER=${nvcc}`);
  }
  return args;
}

/** Calls `report` with 10, 20, … as make's `[ 45%]` or ninja's `[12/345]` lines pass each step. */
export function progressReporter(report: (percent: number) => void): (line: string) => void {
  let reported = 0;
  return (line) => {
    const make = /^\[\s*(\d+)%\]/.exec(line);
    const ninja = /^\[(\d+)\/(\d+)\]/.exec(line);
    const percent = make ? Number(make[1]) : ninja ? Math.floor((100 * Number(ninja[1])) / Number(ninja[2])) : undefined;
    if (percent === undefined) return;
    const step = Math.floor(percent / 10) * 10;
    if (step > reported) {
      reported = step;
      report(step);
    }
  };
}

/** Removes work folders of builds whose process is gone (killed, or the machine restarted). */
function removeAbandonedBuilds(tagDir: string): void {
  for (const name of readdirSync(tagDir)) {
    const match = /\.tmp-(\d+)$/.exec(name);
    if (match && !isAlive(Number(match[1]))) rmSync(join(tagDir, name), { recursive: true, force: true });
  }
}

function describeLogTail(logPath: string): string {
  try {
    const lines = readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-12);
    return lines.length === 0 || lines[0] === '' ? '' : `; its last lines:\n${lines.map((line) => `  ${line}`).join('\n')}`;
  } catch {
    return '';
  }
}
