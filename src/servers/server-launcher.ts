import { statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { UsageError } from '../errors.js';
import { isExecutableFile } from '../util/is-executable-file.js';
import { checkWholeNumber, optionError } from '../util/check-option.js';
import { findCachedLlamaServer, findLlamaCppSource, type LlamaCppSource } from '../setup/llama-cpp-cache.js';
import { checkLlamaServerArgs } from './check-llama-server-args.js';
import { resolveCompiledScript } from './resolve-compiled-script.js';

/** Start models with a llama.cpp `llama-server` binary. */
export interface LlamaServerLaunch {
  readonly kind: 'llama-server';
  /** Path of the `llama-server` executable (see `findLlamaServer`). */
  readonly binary: string;
  /** `-ngl`: layers to offload to the GPU. Left out, llama-server picks (newer versions: auto). @default undefined */
  readonly gpuLayers?: number;
  /**
   * `-t`: CPU threads. Left out, llama-server keeps its own default, which measured faster than any
   * "cores less one" rule: it runs in its own process, not beside Node's event loop. @default undefined
   */
  readonly threads?: number;
  /** Extra arguments appended after the ones `batch` sets (e.g. `['--flash-attn', 'on']`). @default [] */
  readonly extraArgs?: readonly string[];
}

/** Start models with the embedded node-llama-cpp server (dist/embedded/embedded-server-main.js). */
export interface EmbeddedLaunch {
  readonly kind: 'embedded';
  /** CPU threads; keep at most the physical cores, more is far slower. */
  readonly threads: number;
  /** 'auto' uses CUDA/Vulkan when a prebuilt works; 'off' is CPU only. @default 'auto' */
  readonly gpu?: 'auto' | 'off';
  /** `--gpu-layers`: layers offloaded to the GPU (node-llama-cpp's `gpuLayers`). @default node-llama-cpp's auto */
  readonly gpuLayers?: number;
  /** The compiled server entry point. @default dist/embedded/embedded-server-main.js */
  readonly script?: string;
}

/** How to start a model server. */
export type ServerLaunch = LlamaServerLaunch | EmbeddedLaunch;

/** What one server start needs beyond the launch kind. */
export interface ServerCommandOptions {
  readonly modelPath: string;
  readonly port: number;
  /** Requests the server runs at once (`-np`). */
  readonly slots: number;
  /** Context size in tokens (`-c`). */
  readonly contextSize: number;
}

/** A command line, ready for `spawn`. */
export interface ServerCommand {
  readonly command: string;
  readonly args: readonly string[];
  /** 'llama-server' or 'embedded server', for messages. */
  readonly label: string;
}

/** Checks a launch spec once, with "expected `x` to be …, got …" messages. */
export function validateServerLaunch(launch: ServerLaunch): void {
  if (launch.kind === 'llama-server') {
    if (typeof launch.binary !== 'string' || launch.binary === '') throw optionError('binary', 'the path of llama-server', launch.binary);
    if (launch.gpuLayers !== undefined) checkWholeNumber('gpuLayers', launch.gpuLayers, 0);
    if (launch.threads !== undefined) checkWholeNumber('threads', launch.threads, 1);
    if (launch.extraArgs !== undefined && !(Array.isArray(launch.extraArgs) && launch.extraArgs.every((arg) => typeof arg === 'string'))) {
      throw optionError('extraArgs', 'an array of strings', launch.extraArgs);
    }
    checkLlamaServerArgs(launch.extraArgs ?? []);
    return;
  }
  if (launch.kind === 'embedded') {
    checkWholeNumber('threads', launch.threads, 1);
    if (launch.gpuLayers !== undefined) checkWholeNumber('gpuLayers', launch.gpuLayers, 0);
    if (launch.gpu !== undefined && launch.gpu !== 'auto' && launch.gpu !== 'off') throw optionError('gpu', '"auto" or "off"', launch.gpu);
    return;
  }
  throw optionError('kind', '"llama-server" or "embedded"', (launch as { kind: unknown }).kind);
}

/** The command line that starts one server for one model, bound to 127.0.0.1 only. */
export function buildServerCommand(launch: ServerLaunch, options: ServerCommandOptions): ServerCommand {
  const { modelPath, port, slots, contextSize } = options;
  if (launch.kind === 'llama-server') {
    // llama-server's -c is the total context, split across its -np slots: --ctx is per slot.
    const args = ['-m', modelPath, '--host', '127.0.0.1', '--port', String(port), '-np', String(slots), '-c', String(slots * contextSize)];
    if (launch.threads !== undefined) args.push('-t', String(launch.threads));
    if (launch.gpuLayers !== undefined) args.push('-ngl', String(launch.gpuLayers));
    args.push(...(launch.extraArgs ?? []));
    return { command: launch.binary, args, label: 'llama-server' };
  }
  const script = launch.script ?? resolveCompiledScript('embedded/embedded-server-main.js');
  const args = [
    script,
    '--model', modelPath,
    '--host', '127.0.0.1',
    '--port', String(port),
    '--parallel', String(slots),
    '--ctx', String(contextSize),
    '--threads', String(launch.threads),
    '--gpu', launch.gpu ?? 'auto',
    ...(launch.gpuLayers === undefined ? [] : ['--gpu-layers', String(launch.gpuLayers)]),
  ];
  return { command: process.execPath, args, label: 'embedded server' };
}

/** Where `findLlamaServer` looks besides the explicit binary and PATH. */
export interface FindLlamaServerOptions {
  /** The llama.cpp source whose tag keys the build cache. @default the one node-llama-cpp ships */
  readonly source?: LlamaCppSource;
}

/**
 * The llama-server to use: `explicit` (the `--llama-server BIN` option) when given, else the first
 * executable `llama-server` on `env.PATH`, else the one `batch setup llama-server` built into the
 * cache (see `llamaCppCacheDir`), else undefined (use the embedded server).
 */
export function findLlamaServer(env: Readonly<Record<string, string | undefined>>, explicit?: string, options: FindLlamaServerOptions = {}): string | undefined {
  if (explicit !== undefined && explicit !== '') {
    if (!isExecutableFile(explicit)) {
      throw new UsageError(`--llama-server ${explicit}: expected an executable file, got ${describeMissing(explicit)}; pass the path of llama-server or leave the option out to use the embedded server`);
    }
    return explicit;
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, 'llama-server');
    if (isExecutableFile(candidate)) return candidate;
  }
  const cached = findCachedLlamaServer(env, options.source ?? findLlamaCppSource());
  return cached !== undefined && isExecutableFile(cached.serverPath) ? cached.serverPath : undefined;
}

function describeMissing(path: string): string {
  try {
    return statSync(path).isFile() ? 'a file that is not executable (chmod +x it)' : 'a directory';
  } catch {
    return 'no such file';
  }
}
