import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The llama.cpp source that node-llama-cpp ships, and its tag. */
export interface LlamaCppSource {
  /** llama.cpp's release tag, e.g. `b6500`: the key of the build cache. */
  readonly tag: string;
  /** `node_modules/node-llama-cpp/llama/gitRelease.bundle`: a git bundle of that tag. */
  readonly bundlePath: string;
}

/** The backend a llama-server build uses. */
export type LlamaBuildBackend = 'cpu' | 'cuda';

/** A finished build in the cache. */
export interface BuiltLlamaServer {
  /** The folder of the build: `<cache>/<tag>/<backend>`. */
  readonly dir: string;
  readonly serverPath: string;
  /** `llama-batched-bench`, the engine's own throughput figure (bench/llama-server.ts). */
  readonly batchedBenchPath: string;
  readonly backend: LlamaBuildBackend;
  readonly tag: string;
}

/** What `build.json` in a finished build says. Written last: a folder without it is no build. */
export interface LlamaBuildRecord {
  readonly tag: string;
  readonly backend: LlamaBuildBackend;
  readonly builtAt: string;
  /** `llama-server --version`'s first line, run from the finished folder. */
  readonly version: string;
}

/** The file a finished build holds last of all. */
export const buildRecordName = 'build.json';

/**
 * Where built llama.cpp binaries live: `$BATCH_LLAMA_CPP_DIR`, else `$XDG_CACHE_HOME/batch/llama.cpp`,
 * else `~/.cache/batch/llama.cpp`. One folder per tag, so a new node-llama-cpp builds anew.
 */
export function llamaCppCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  if (env.BATCH_LLAMA_CPP_DIR) return env.BATCH_LLAMA_CPP_DIR;
  const cacheHome = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(cacheHome, 'batch', 'llama.cpp');
}

/**
 * The llama.cpp source bundled with the installed node-llama-cpp. `llamaDir` is its `llama/`
 * folder (tests pass their own); undefined when node-llama-cpp or its bundle is missing.
 */
export function findLlamaCppSource(llamaDir: string | undefined = nodeLlamaCppLlamaDir()): LlamaCppSource | undefined {
  if (llamaDir === undefined) return undefined;
  const bundlePath = join(llamaDir, 'gitRelease.bundle');
  try {
    const info = JSON.parse(readFileSync(join(llamaDir, 'llama.cpp.info.json'), 'utf8')) as { tag?: unknown };
    if (typeof info.tag !== 'string' || !/^[\w.-]+$/.test(info.tag) || !existsSync(bundlePath)) return undefined;
    return { tag: info.tag, bundlePath };
  } catch {
    return undefined;
  }
}

function nodeLlamaCppLlamaDir(): string | undefined {
  try {
    // node-llama-cpp's exports hide package.json: resolve its entry (dist/index.js) and go up.
    return join(dirname(dirname(fileURLToPath(import.meta.resolve('node-llama-cpp')))), 'llama');
  } catch {
    return undefined;
  }
}

/** The folder a build of `tag` for `backend` ends in. */
export function llamaBuildDir(cacheDir: string, tag: string, backend: LlamaBuildBackend): string {
  return join(cacheDir, tag, backend);
}

/**
 * The finished build of `tag` in `cacheDir`, CUDA before CPU (a CUDA build exists only where a GPU
 * was found), or undefined. Only a folder whose `build.json` names the tag counts.
 */
export function findBuiltLlamaServer(cacheDir: string, tag: string): BuiltLlamaServer | undefined {
  return findLlamaBuild(cacheDir, tag, 'cuda') ?? findLlamaBuild(cacheDir, tag, 'cpu');
}

/** The finished build of `tag` for one backend, or undefined. */
export function findLlamaBuild(cacheDir: string, tag: string, backend: LlamaBuildBackend): BuiltLlamaServer | undefined {
  const dir = llamaBuildDir(cacheDir, tag, backend);
  const record = readBuildRecord(dir);
  if (record === undefined || record.tag !== tag) return undefined;
  const serverPath = join(dir, 'bin', 'llama-server');
  if (!existsSync(serverPath)) return undefined;
  return { dir, serverPath, batchedBenchPath: join(dir, 'bin', 'llama-batched-bench'), backend, tag };
}

/**
 * The build of the installed node-llama-cpp's tag in the cache `env` names, or undefined. Only
 * `env` decides where to look (never this process's own home folder): an environment with none of
 * BATCH_LLAMA_CPP_DIR, XDG_CACHE_HOME and HOME, as tests pass, has no cache.
 */
export function findCachedLlamaServer(env: Readonly<Record<string, string | undefined>>, source = findLlamaCppSource()): BuiltLlamaServer | undefined {
  if (source === undefined || !(env.BATCH_LLAMA_CPP_DIR || env.XDG_CACHE_HOME || env.HOME)) return undefined;
  return findBuiltLlamaServer(llamaCppCacheDir(env), source.tag);
}

function readBuildRecord(dir: string): LlamaBuildRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, buildRecordName), 'utf8')) as LlamaBuildRecord;
  } catch {
    return undefined;
  }
}
